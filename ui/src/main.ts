import { mount } from "svelte";
import App from "./App.svelte";
import { adoptSystemLocale } from "./i18n/index.svelte";
import { systemLocale } from "./lib/tauri";
import "./app.css";

mount(App, { target: document.getElementById("app")! });
systemLocale().then(adoptSystemLocale);
