"""Draws BENCH.md's chart from the scale benchmark's JSON: CPU per stream against N."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERIES = [
    ("nginx_rtmp", "nginx-rtmp record all (FLV)"),
    ("tally_flv_mp4", "Tally FLV+MP4"),
    ("tally_flv_mp4_hls", "Tally FLV+MP4+HLS"),
]


def main(src, dst):
    runs = json.load(open(src))["runs"]
    ns = [r["streams"] for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for key, label in SERIES:
        ax.plot(ns, [r[key]["cpu_percent_of_a_core_per_stream"] for r in runs], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xticks(ns)
    ax.set_xticklabels([str(n) for n in ns])
    ax.set_xlabel("concurrent publishers (2.5 Mbps 720p30 each)")
    ax.set_ylabel("CPU, % of one core per stream")
    ax.set_title("Recording cost per stream on 2 cores")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
