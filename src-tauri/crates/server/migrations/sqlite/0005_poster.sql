-- The recording's poster (JPEG of its first keyframe), relative to the data dir like rel_path.
ALTER TABLE recordings ADD COLUMN poster TEXT;
