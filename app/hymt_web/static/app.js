// The translation page. Plain JavaScript, no build step, nothing loaded from elsewhere.
// Languages and limits come from the gateway (/api/languages, /api/info), never from this file.
"use strict";

(() => {
  // ---- UI strings (the only text this file carries; language names come from the gateway) ----------------------
  const STRINGS = {
    en: {
      title: "Hunyuan-MT Translate",
      skip: "Skip to the text",
      from: "From",
      to: "To",
      auto: "Detect language",
      auto_short: "Auto",
      detected: "Detected: {name}",
      swap: "Swap languages",
      swap_needs_source: "Choose the source language (or translate once) to swap.",
      text: "Text to translate",
      placeholder: "Type or paste text here",
      translation: "Translation",
      translate: "Translate",
      stop: "Stop",
      clear: "Clear",
      copy: "Copy",
      copied: "Translation copied.",
      copy_failed: "Could not copy; select the text and copy it by hand.",
      shortcut: "Ctrl+Enter or ⌘+Enter translates",
      counter: "{count} / {max} characters",
      translating: "Translating…",
      done: "Translation done.",
      elapsed: "{seconds} s",
      stopped: "Stopped.",
      no_match: "No language matches",
      history: "Recent translations",
      history_clear: "Clear history",
      history_empty: "Your last translations appear here (only in this browser).",
      history_restored: "Restored from history.",
      rehearsal: "Rehearsal deployment: a tiny test model answers, so translations are random text.",
      banner_loading: "The translation model is loading or restarting.",
      banner_unreachable: "The translation model cannot be reached right now.",
      banner_offline: "This page cannot reach its server.",
      banner_retry: "Trying again by itself…",
      ready_again: "The translation model is ready again.",
      ui_switch: "中文",
      ui_switch_label: "切换到中文",
      footer: "Model {model} · hymt {version}",
      err_empty_text: "There is no text to translate. Type or paste some text first.",
      err_text_too_long: "The text is too long: {count} characters, the limit is {max}. Translate it in parts.",
      err_unknown_language: "That language is not supported. Choose one from the list.",
      err_same_language: "The source and target language are the same. Choose a different target.",
      err_invalid_request: "The request was not valid.",
      err_invalid_text: "The text has a control or broken character that cannot be translated. Remove it, try again.",
      err_too_many_parts: "The text has too many separate parts for one translation. Translate it in smaller parts.",
      err_too_many_requests: "The service is busy right now. Try again in a few seconds.",
      err_upstream_unreachable: "The translation model cannot be reached. Try again in a moment.",
      err_upstream_not_ready: "The translation model is not ready yet. Try again soon.",
      err_upstream_timeout: "The translation model took too long to answer. Try again, or with a shorter text.",
      err_upstream_error: "The translation model answered with an error. Try again.",
      err_internal_error: "Something went wrong in the web app. Try again.",
      err_network: "This page cannot reach its server. Check your connection and try again.",
      err_broken: "The connection broke off before the translation was complete. Try again.",
      err_unknown: "The translation failed. Try again.",
      access_key: "Access key",
      access_hint: "This service needs an access key from its operator. It is kept in this browser only.",
      err_access_key_required: "This service needs an access key. Enter the key its operator gave you.",
      err_invalid_access_key: "The access key was not accepted. Check it, or ask the operator for a new one.",
      err_invalid_features: "The translation options were not accepted.",
      err_unsupported_feature: "This model has no prompt for that translation option.",
      err_too_long_for_one_request: "Structured data goes to the model in one piece, and this is too long for that. "
        + "Translate it in parts.",
      err_two_options: "The model takes one option per translation, and {names} are set. Clear all but one (or "
        + "uncheck “Use the glossary”).",
      err_glossary_incomplete: "Glossary term {number} has only one side. Fill in both, or remove it.",
      same_switched: "The text is in {source}, the target language too, so the target is now {target}.",
      warnings: "Check the translation: it did not keep everything of the text.",
      options: "Translation options",
      options_hint: "The model takes one of these with a translation.",
      options_in_use: "· in use: {names}",
      options_none: "· plain translation only with this model",
      format: "Format",
      format_text: "Plain text",
      format_hint: "Only the visible text of structured data is translated; keys, tags and placeholders stay.",
      context: "Context",
      context_hint: "Text the translation takes into account, not translated itself (e.g. the paragraph around a "
        + "sentence).",
      style: "Style",
      style_hint: "How the translation should read, e.g. formal.",
      glossary: "Glossary",
      glossary_hint: "Terms the translation must use. The pairs whose term occurs in the text go with it. Kept in "
        + "this browser only.",
      glossary_use: "Use the glossary",
      term_source: "Term",
      term_target: "Translation",
      term_actions: "Actions",
      term_add: "Add a term",
      term_remove: "Remove",
      term_source_label: "Term {number}",
      term_target_label: "Translation of term {number}",
      term_remove_label: "Remove term {number}",
      term_removed: "Term removed.",
      glossary_import: "Import TSV",
      glossary_export: "Export TSV",
      glossary_imported: "Imported {count} term pairs from {file}: {added} new, {updated} changed.",
      glossary_bad_line: "{file}, line {line}: {problem}. Nothing was imported: fix the line and import again.",
      tsv_columns: "expected a term, one tab and its translation, found {count} columns",
      tsv_empty: "a term or its translation is empty",
      tsv_nothing: "{file} has no term pairs (one a line: term, tab, translation). Nothing was imported.",
      tsv_unreadable: "{file} could not be read. Nothing was imported.",
      glossary_exported: "Exported {count} term pairs.",
      glossary_nothing: "The glossary has no complete term pair to export.",
      unavailable: "Not with this model: the {family} prompts have no template for it (models of {families} have one).",
      unavailable_default: "Not with this model: {model} is not in the model catalogue and no model family is set, "
        + "so only plain translation is sent.",
      feature_glossary: "the glossary",
      feature_context: "a context",
      feature_style: "a style",
      feature_format: "a format",
      and: " and ",
    },
    zh: {
      title: "混元翻译",
      skip: "跳到输入框",
      from: "源语言",
      to: "目标语言",
      auto: "自动检测",
      auto_short: "自动",
      detected: "检测到：{name}",
      swap: "互换语言",
      swap_needs_source: "请先选择源语言（或先翻译一次）再互换。",
      text: "要翻译的文本",
      placeholder: "在此输入或粘贴文本",
      translation: "译文",
      translate: "翻译",
      stop: "停止",
      clear: "清空",
      copy: "复制",
      copied: "译文已复制。",
      copy_failed: "无法复制，请手动选择文本复制。",
      shortcut: "Ctrl+Enter 或 ⌘+Enter 翻译",
      counter: "{count} / {max} 字符",
      translating: "正在翻译…",
      done: "翻译完成。",
      elapsed: "{seconds} 秒",
      stopped: "已停止。",
      no_match: "没有匹配的语言",
      history: "最近的翻译",
      history_clear: "清除记录",
      history_empty: "最近的翻译会显示在这里（只保存在本浏览器中）。",
      history_restored: "已从记录中恢复。",
      rehearsal: "演练部署：回答来自一个很小的测试模型，译文是随机文本。",
      banner_loading: "翻译模型正在加载或重启。",
      banner_unreachable: "暂时无法连接翻译模型。",
      banner_offline: "页面无法连接到服务器。",
      banner_retry: "正在自动重试…",
      ready_again: "翻译模型已恢复。",
      ui_switch: "English",
      ui_switch_label: "Switch to English",
      footer: "模型 {model} · hymt {version}",
      err_empty_text: "没有要翻译的文本，请先输入或粘贴文本。",
      err_text_too_long: "文本太长：{count} 个字符，上限为 {max}。请分段翻译。",
      err_unknown_language: "不支持该语言，请从列表中选择。",
      err_same_language: "源语言和目标语言相同，请选择其他目标语言。",
      err_invalid_request: "请求无效。",
      err_invalid_text: "文本中有无法翻译的字符（控制字符或损坏的字符），请删除后重试。",
      err_too_many_parts: "文本分段过多，无法一次翻译，请分成较小的部分翻译。",
      err_too_many_requests: "服务繁忙，请几秒后再试。",
      err_upstream_unreachable: "无法连接翻译模型，请稍后再试。",
      err_upstream_not_ready: "翻译模型尚未就绪，请稍后再试。",
      err_upstream_timeout: "翻译模型响应超时，请重试或缩短文本。",
      err_upstream_error: "翻译模型返回了错误，请重试。",
      err_internal_error: "网页应用出错了，请重试。",
      err_network: "页面无法连接到服务器，请检查网络后重试。",
      err_broken: "翻译完成前连接中断，请重试。",
      err_unknown: "翻译失败，请重试。",
      access_key: "访问密钥",
      access_hint: "此服务需要运营者提供的访问密钥。密钥只保存在本浏览器中。",
      err_access_key_required: "此服务需要访问密钥，请输入运营者给您的密钥。",
      err_invalid_access_key: "访问密钥无效。请检查，或向运营者索取新的密钥。",
      err_invalid_features: "翻译选项无效。",
      err_unsupported_feature: "此模型没有该翻译选项的提示词。",
      err_too_long_for_one_request: "结构化数据会整体发送给模型，这段内容太长。请分段翻译。",
      err_two_options: "每次翻译模型只接受一个选项，当前设置了{names}。请只保留一个（或取消“使用术语表”）。",
      err_glossary_incomplete: "术语表第 {number} 条只填了一边。请填写完整，或将其删除。",
      same_switched: "文本是{source}，目标语言也是，因此目标语言已改为{target}。",
      warnings: "请检查译文：它没有完整保留原文的内容。",
      options: "翻译选项",
      options_hint: "每次翻译模型只接受其中一项。",
      options_in_use: "· 使用中：{names}",
      options_none: "· 此模型只做普通翻译",
      format: "格式",
      format_text: "纯文本",
      format_hint: "结构化数据只翻译可见文本；键、标签和占位符保持不变。",
      context: "上下文",
      context_hint: "翻译时参考但不翻译的文本（例如句子所在的段落）。",
      style: "风格",
      style_hint: "译文应有的风格，例如：正式。",
      glossary: "术语表",
      glossary_hint: "翻译必须使用的术语。文本中出现的术语会随翻译一起发送。只保存在本浏览器中。",
      glossary_use: "使用术语表",
      term_source: "术语",
      term_target: "译法",
      term_actions: "操作",
      term_add: "添加术语",
      term_remove: "删除",
      term_source_label: "术语 {number}",
      term_target_label: "术语 {number} 的译法",
      term_remove_label: "删除术语 {number}",
      term_removed: "术语已删除。",
      glossary_import: "导入 TSV",
      glossary_export: "导出 TSV",
      glossary_imported: "已从 {file} 导入 {count} 对术语：新增 {added}，更改 {updated}。",
      glossary_bad_line: "{file} 第 {line} 行：{problem}。未导入任何内容：请修改该行后重新导入。",
      tsv_columns: "应为术语、一个制表符和译法，实际有 {count} 列",
      tsv_empty: "术语或译法为空",
      tsv_nothing: "{file} 中没有术语对（每行一对：术语、制表符、译法）。未导入任何内容。",
      tsv_unreadable: "无法读取 {file}。未导入任何内容。",
      glossary_exported: "已导出 {count} 对术语。",
      glossary_nothing: "术语表中没有完整的术语对可导出。",
      unavailable: "此模型不可用：{family} 的提示词没有此项模板（{families} 系列的模型有）。",
      unavailable_default: "此模型不可用：{model} 不在模型目录中，也未设置模型系列，因此只发送普通翻译。",
      feature_glossary: "术语表",
      feature_context: "上下文",
      feature_style: "风格",
      feature_format: "格式",
      and: "和",
    },
  };

  // The access key (when /api/info says one is required) is kept here, in this browser only.
  const STORE = {
    ui: "hymt.ui",
    pair: "hymt.pair",
    history: "hymt.history",
    key: "hymt.access_key",
    glossary: "hymt.glossary",
    glossaryUse: "hymt.glossary_use",
  };
  const HISTORY_SIZE = 10;
  const READY_POLL_MS = 15000; // while the model answers
  const NOT_READY_POLL_MS = 3000; // while it does not: clear the banner soon after it recovers

  const $ = (id) => document.getElementById(id);
  const state = {
    ui: "en",
    languages: [],
    byCode: new Map(),
    maxChars: null, // the deployment's limit, from /api/info (the web app's settings are its one source)
    info: null,
    source: "auto",
    target: "",
    detected: null, // the source the gateway detected for the last "auto" translation
    controller: null, // AbortController of the translation under way
    ready: null, // null (unknown), true, false
    pollTimer: null,
  };

  // ---- small helpers -----------------------------------------------------------------------------------------
  function t(key, values = {}) {
    const template = (STRINGS[state.ui] && STRINGS[state.ui][key]) || STRINGS.en[key] || key;
    return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback; // storage disabled or corrupt: start fresh
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* private mode or full: remembering is a convenience only */
    }
  }

  function charCount(text) {
    return Array.from(text).length; // code points, as the gateway counts them
  }

  function announce(message) {
    const status = $("status");
    status.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated messages too.
    setTimeout(() => { status.textContent = message; }, 30);
  }

  function fold(text) {
    return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  }

  function languageName(code) {
    if (code === "auto") return t("auto_short");
    const lang = state.byCode.get(code);
    if (!lang) return code;
    return state.ui === "zh" ? lang.name_zh : lang.name_en;
  }

  function languageLabel(code) {
    if (code === "auto") return t("auto");
    const lang = state.byCode.get(code);
    if (!lang) return code;
    const name = languageName(code);
    return lang.native === name ? name : `${name} · ${lang.native}`;
  }

  // ---- searchable language pickers (WAI-ARIA combobox with a listbox popup) ---------------------------------
  class Picker {
    constructor(side, { allowAuto, onChange }) {
      this.side = side;
      this.root = $(`${side}-picker`);
      this.input = $(`${side}-input`);
      this.list = $(`${side}-list`);
      this.allowAuto = allowAuto;
      this.onChange = onChange;
      this.value = "";
      this.options = [];
      this.active = -1;
      this.input.addEventListener("focus", () => { this.input.select(); this.open(""); });
      this.input.addEventListener("click", () => { if (this.list.hidden) this.open(""); });
      this.input.addEventListener("input", () => this.open(this.input.value));
      this.input.addEventListener("keydown", (event) => this.onKey(event));
      this.input.addEventListener("blur", () => this.close());
      // mousedown, not click: choosing must happen before the input's blur closes the list.
      this.list.addEventListener("mousedown", (event) => {
        const item = event.target.closest("li[data-code]");
        event.preventDefault();
        if (item) this.choose(item.dataset.code);
      });
    }

    codes() {
      const codes = state.languages.map((lang) => lang.code);
      return this.allowAuto ? ["auto", ...codes] : codes;
    }

    matches(code, query) {
      if (!query) return true;
      const lang = state.byCode.get(code);
      const haystack = code === "auto"
        ? [code, STRINGS.en.auto, STRINGS.zh.auto]
        : [code, lang.name_en, lang.name_zh, lang.native];
      return haystack.some((text) => fold(text).includes(query));
    }

    open(query) {
      const folded = fold(query.trim());
      // Typing the current label again (or nothing) shows every language.
      const showAll = !folded || query === languageLabel(this.value);
      this.options = this.codes().filter((code) => showAll || this.matches(code, folded));
      this.list.replaceChildren();
      if (!this.options.length) {
        const empty = document.createElement("li");
        empty.className = "empty";
        empty.textContent = t("no_match");
        this.list.append(empty);
      }
      for (const code of this.options) {
        const item = document.createElement("li");
        item.id = `${this.side}-opt-${code}`;
        item.setAttribute("role", "option");
        item.dataset.code = code;
        item.setAttribute("aria-selected", String(code === this.value));
        const lang = state.byCode.get(code);
        const main = document.createElement("span");
        main.textContent = code === "auto" ? t("auto") : lang.native;
        if (lang) main.lang = code;
        const names = document.createElement("span");
        names.className = "names";
        names.textContent = code === "auto" ? "" : `${lang.name_en} · ${lang.name_zh}`;
        const tag = document.createElement("span");
        tag.className = "code";
        tag.textContent = code === "auto" ? "" : code;
        item.append(main, names, tag);
        this.list.append(item);
      }
      this.list.hidden = false;
      this.input.setAttribute("aria-expanded", "true");
      const selected = this.options.indexOf(this.value);
      this.highlight(showAll ? Math.max(selected, 0) : 0);
    }

    highlight(index) {
      const items = this.list.querySelectorAll("li[data-code]");
      items.forEach((item) => item.classList.remove("active"));
      if (!items.length) {
        this.active = -1;
        this.input.removeAttribute("aria-activedescendant");
        return;
      }
      this.active = (index + items.length) % items.length;
      const item = items[this.active];
      item.classList.add("active");
      this.input.setAttribute("aria-activedescendant", item.id);
      item.scrollIntoView({ block: "nearest" });
    }

    close() {
      this.list.hidden = true;
      this.input.setAttribute("aria-expanded", "false");
      this.input.removeAttribute("aria-activedescendant");
      this.input.value = languageLabel(this.value);
    }

    onKey(event) {
      const open = !this.list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) this.open("");
        else this.highlight(this.active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && open && !(event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (this.active >= 0) this.choose(this.options[this.active]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if (event.key === "Tab" && open && this.active >= 0 && this.input.value !== languageLabel(this.value)) {
        this.choose(this.options[this.active], { keepFocus: true }); // typed a query, tabbed away: take the match
      }
    }

    set(code, { silent = false } = {}) {
      this.value = code;
      this.root.dataset.value = code;
      this.input.value = languageLabel(code);
      if (!silent) this.onChange(code);
    }

    choose(code, { keepFocus = false } = {}) {
      this.set(code);
      this.close();
      if (!keepFocus) this.input.select();
    }

    refresh() {
      this.input.value = languageLabel(this.value);
    }
  }

  let sourcePicker;
  let targetPicker;

  // ---- the UI language ---------------------------------------------------------------------------------------
  function applyUiLanguage(ui) {
    state.ui = ui;
    document.documentElement.lang = ui === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    for (const el of document.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nLabel));
      el.title = t(el.dataset.i18nLabel);
    }
    const toggle = $("ui-lang");
    toggle.textContent = t("ui_switch");
    toggle.lang = ui === "zh" ? "en" : "zh";
    toggle.setAttribute("aria-label", t("ui_switch_label"));
    if (sourcePicker) {
      sourcePicker.refresh();
      targetPicker.refresh();
    }
    updateCounter();
    updateDetected();
    updateSwap();
    renderHistory();
    renderFooter();
    renderGlossary();
    renderOptions();
    if (state.ready === false) showBanner(state.bannerCode);
  }

  function initialUiLanguage() {
    const saved = load(STORE.ui, null);
    if (saved === "zh" || saved === "en") return saved;
    const preferred = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (const tag of preferred) {
      const lower = String(tag || "").toLowerCase();
      if (lower.startsWith("zh")) return "zh";
      if (lower.startsWith("en")) return "en";
    }
    return "en";
  }

  // ---- counter, swap, detected source ------------------------------------------------------------------------
  function updateCounter() {
    const count = charCount($("text").value);
    const counter = $("counter");
    counter.textContent = t("counter", { count, max: state.maxChars ?? "…" });
    counter.classList.toggle("over", state.maxChars !== null && count > state.maxChars);
  }

  function swapSource() {
    if (state.source !== "auto") return state.source;
    const detected = state.detected;
    return detected && detected !== "auto" && detected !== state.target ? detected : null;
  }

  function updateSwap() {
    const possible = swapSource() !== null;
    const swap = $("swap");
    swap.disabled = !possible;
    swap.title = possible ? t("swap") : t("swap_needs_source");
  }

  function updateDetected() {
    const detected = $("detected");
    detected.textContent = state.source === "auto" && state.detected && state.detected !== "auto"
      ? t("detected", { name: languageName(state.detected) })
      : "";
  }

  function rememberPair() {
    save(STORE.pair, { source: state.source, target: state.target });
  }

  function swapLanguages() {
    const newTarget = swapSource();
    if (newTarget === null) return;
    const newSource = state.target;
    const text = $("text");
    const translated = outputText();
    const original = text.value;
    sourcePicker.set(newSource, { silent: true });
    targetPicker.set(newTarget, { silent: true });
    state.source = newSource;
    state.target = newTarget;
    state.detected = null;
    if (translated) {
      // The translation becomes the text, and the text its translation, as the languages trade places.
      text.value = translated;
      setOutput(original, newTarget);
    }
    rememberPair();
    updateCounter();
    updateDetected();
    updateSwap();
  }

  // ---- output ------------------------------------------------------------------------------------------------
  let outputNode = document.createTextNode("");

  function outputText() {
    return outputNode.data;
  }

  function setOutputDirection(code) {
    const output = $("output");
    const lang = state.byCode.get(code);
    output.dir = lang && lang.rtl ? "rtl" : "ltr";
    output.lang = code;
  }

  function setOutput(text, code) {
    const output = $("output");
    outputNode = document.createTextNode(text);
    output.replaceChildren(outputNode);
    setOutputDirection(code);
    $("copy").disabled = !text;
  }

  function appendOutput(text) {
    outputNode.appendData(text);
    $("copy").disabled = false;
  }

  // Errors about the user's own input are fully said by the UI's words; others get the server's details too.
  const SELF_EXPLAINED = new Set(["empty_text", "text_too_long", "unknown_language", "same_language",
    "too_many_requests", "access_key_required", "invalid_access_key"]);

  function showError(code, detail, values = {}) {
    const key = `err_${code}`;
    const known = Boolean(STRINGS.en[key]);
    $("error-text").textContent = known ? t(key, values) : t("err_unknown");
    $("error-detail").textContent = known && SELF_EXPLAINED.has(code) ? "" : detail || "";
    $("error").hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error-text").textContent = "";
    $("error-detail").textContent = "";
  }

  // ---- the access key (private deployments) ------------------------------------------------------------------
  function keyRequired() {
    return Boolean(state.info && state.info.access_key_required);
  }

  function accessKey() {
    return $("access-key").value.trim();
  }

  function showAccess() {
    $("access").hidden = !keyRequired();
    if (keyRequired() && !$("access-key").value) $("access-key").value = load(STORE.key, "") || "";
  }

  // ---- translation options: format, context, style, glossary ------------------------------------------------
  // /api/info says which of them the served model's family has prompts for; the others are shown disabled with the
  // reason, so the page never sends an option the gateway would refuse. The model takes one of them a translation.
  const OPTIONS = ["format", "context", "style", "glossary"];
  let glossary = []; // [{source, target}], kept in this browser (localStorage)

  function available(name) {
    const features = state.info && state.info.features;
    return Boolean(features && features[name] && features[name].available);
  }

  function unavailableReason(name) {
    const info = state.info;
    if (info.prompt_family_from === "default") return t("unavailable_default", { model: info.model });
    const families = (info.features[name] && info.features[name].families) || [];
    return t("unavailable", { family: info.prompt_family, families: families.join(", ") });
  }

  function optionControl(name) {
    return name === "glossary" ? $("glossary-use") : $(name);
  }

  function renderOptions() {
    if (!state.info) return;
    for (const name of OPTIONS) {
      const on = available(name);
      optionControl(name).disabled = !on;
      $(`${name}-reason`).textContent = on ? t(`${name}_hint`) : unavailableReason(name);
    }
    $("options-hint").hidden = !OPTIONS.some(available);
    renderOptionsUsed();
  }

  function renderOptionsUsed() {
    if (!state.info) return;
    const used = OPTIONS.filter((name) => optionSet(name));
    $("options-used").textContent = !OPTIONS.some(available) ? t("options_none")
      : used.length ? t("options_in_use", { names: optionNames(used) }) : "";
  }

  function optionNames(names) {
    return names.map((name) => t(`feature_${name}`)).join(t("and"));
  }

  // Whether an option would go with a translation (the glossary: when it has a complete pair, whatever the text).
  function optionSet(name) {
    if (!available(name)) return false;
    if (name === "format") return $("format").value !== "text";
    if (name === "glossary") return $("glossary-use").checked && completePairs().length > 0;
    return Boolean($(name).value.trim());
  }

  function completePairs() {
    return glossary
      .map((pair) => ({ source: pair.source.trim(), target: pair.target.trim() }))
      .filter((pair) => pair.source && pair.target);
  }

  // The request's option fields for `text`: {fields}, or {error, values, focus?} for showError.
  function requestOptions(text) {
    const fields = {};
    if (optionSet("format")) fields.format = $("format").value;
    if (optionSet("context")) fields.context = $("context").value;
    if (optionSet("style")) fields.style = $("style").value;
    if (available("glossary") && $("glossary-use").checked) {
      const half = glossary.findIndex((pair) => !pair.source.trim() !== !pair.target.trim());
      if (half >= 0) return { error: "glossary_incomplete", values: { number: half + 1 }, focus: `term-${half}-source` };
      const folded = text.toLowerCase();
      const pairs = completePairs().filter((pair) => folded.includes(pair.source.toLowerCase()));
      if (pairs.length) fields.glossary = pairs;
    }
    const used = OPTIONS.filter((name) => name in fields);
    if (used.length > 1) return { error: "two_options", values: { names: optionNames(used) } };
    return { fields };
  }

  function saveGlossary() {
    save(STORE.glossary, glossary);
    renderOptionsUsed();
  }

  function loadGlossary() {
    const stored = load(STORE.glossary, []);
    glossary = Array.isArray(stored)
      ? stored.filter((pair) => pair && typeof pair.source === "string" && typeof pair.target === "string")
      : [];
    $("glossary-use").checked = load(STORE.glossaryUse, true) !== false;
  }

  function renderGlossary() {
    const rows = $("glossary-rows");
    rows.replaceChildren();
    glossary.forEach((pair, index) => {
      const number = index + 1;
      const row = document.createElement("tr");
      for (const side of ["source", "target"]) {
        const cell = document.createElement("td");
        const input = document.createElement("input");
        input.type = "text";
        input.id = `term-${index}-${side}`;
        input.dir = "auto";
        input.autocomplete = "off";
        input.value = pair[side];
        input.setAttribute("aria-label", t(`term_${side}_label`, { number }));
        input.addEventListener("input", () => {
          glossary[index][side] = input.value;
          saveGlossary();
        });
        cell.append(input);
        row.append(cell);
      }
      const cell = document.createElement("td");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "quiet";
      remove.textContent = t("term_remove");
      remove.setAttribute("aria-label", t("term_remove_label", { number }));
      remove.addEventListener("click", () => removeTerm(index));
      cell.append(remove);
      row.append(cell);
      rows.append(row);
    });
  }

  function addTerm() {
    glossary.push({ source: "", target: "" });
    saveGlossary();
    renderGlossary();
    $(`term-${glossary.length - 1}-source`).focus();
  }

  function removeTerm(index) {
    glossary.splice(index, 1);
    saveGlossary();
    renderGlossary();
    // Focus stays in the table: on the next row's remove button, else the previous one's, else "Add a term".
    const buttons = $("glossary-rows").querySelectorAll("button");
    (buttons[Math.min(index, buttons.length - 1)] || $("glossary-add")).focus();
    announce(t("term_removed"));
  }

  function glossaryMessage(message, bad = false) {
    const element = $("glossary-message");
    element.textContent = message;
    element.classList.toggle("bad", bad);
  }

  // TSV: one pair a line, the term, one tab, its translation; blank lines are skipped. Either all of the file's
  // pairs or, at its first bad line, none: {pairs} or {line, problem}.
  function parseTsv(content) {
    const pairs = [];
    const lines = content.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
    for (let index = 0; index < lines.length; index += 1) {
      const line = lines[index];
      if (!line.trim()) continue;
      const cells = line.split("\t");
      if (cells.length !== 2) return { line: index + 1, problem: t("tsv_columns", { count: cells.length }) };
      const [source, target] = cells.map((cell) => cell.trim());
      if (!source || !target) return { line: index + 1, problem: t("tsv_empty") };
      pairs.push({ source, target });
    }
    return { pairs };
  }

  async function importGlossary(file) {
    let content;
    try {
      content = await file.text();
    } catch {
      glossaryMessage(t("tsv_unreadable", { file: file.name }), true);
      return;
    }
    const parsed = parseTsv(content);
    if (!parsed.pairs) {
      glossaryMessage(t("glossary_bad_line", { file: file.name, line: parsed.line, problem: parsed.problem }), true);
      return;
    }
    if (!parsed.pairs.length) {
      glossaryMessage(t("tsv_nothing", { file: file.name }), true);
      return;
    }
    let added = 0;
    let updated = 0;
    for (const pair of parsed.pairs) {
      const known = glossary.find((entry) => entry.source.trim() === pair.source);
      if (!known) {
        glossary.push(pair);
        added += 1;
      } else if (known.target.trim() !== pair.target) {
        known.target = pair.target; // the file's translation of a term already here wins, and the message says so
        updated += 1;
      }
    }
    saveGlossary();
    renderGlossary();
    glossaryMessage(t("glossary_imported", { count: parsed.pairs.length, file: file.name, added, updated }));
  }

  function exportGlossary() {
    const pairs = completePairs();
    if (!pairs.length) {
      glossaryMessage(t("glossary_nothing"), true);
      return;
    }
    const oneLine = (term) => term.replace(/\s+/g, " "); // a tab or line break would break the TSV
    const tsv = pairs.map((pair) => `${oneLine(pair.source)}\t${oneLine(pair.target)}\n`).join("");
    const link = document.createElement("a");
    link.href = `data:text/tab-separated-values;charset=utf-8,${encodeURIComponent(tsv)}`;
    link.download = "glossary.tsv";
    document.body.append(link);
    link.click();
    link.remove();
    glossaryMessage(t("glossary_exported", { count: pairs.length }));
  }

  function bindOptions() {
    for (const name of ["format", "context", "style"]) $(name).addEventListener("input", renderOptionsUsed);
    $("glossary-use").addEventListener("change", () => {
      save(STORE.glossaryUse, $("glossary-use").checked);
      renderOptionsUsed();
    });
    $("glossary-add").addEventListener("click", addTerm);
    $("glossary-export").addEventListener("click", exportGlossary);
    $("glossary-import").addEventListener("click", () => $("glossary-file").click());
    $("glossary-file").addEventListener("change", async () => {
      const [file] = $("glossary-file").files;
      if (file) await importGlossary(file);
      $("glossary-file").value = ""; // the same file can be imported again
    });
  }

  // ---- notices and warnings ----------------------------------------------------------------------------------
  function showNotice(message) {
    $("notice").textContent = message;
    $("notice").hidden = !message;
  }

  function showWarnings(warnings) {
    const list = $("warnings-list");
    list.replaceChildren();
    for (const warning of warnings) {
      const item = document.createElement("li");
      item.textContent = warning;
      list.append(item);
    }
    $("warnings").hidden = warnings.length === 0;
  }

  // Text in the target's language: the target becomes English for Chinese text, Chinese for any other. The page
  // carries no detector: it asks the gateway's (api/detect) before translating from "auto", so that no
  // same-language request is sent. Should detection fail, the gateway refuses such a translation with
  // same_language before the model sees it, and the page switches then and translates again.
  function switchSameTarget() {
    const same = state.target;
    const lang = state.byCode.get(same);
    const target = lang && lang.script === "han" ? "en" : "zh";
    targetPicker.set(target, { silent: true });
    state.target = target;
    setOutputDirection(target);
    rememberPair();
    updateSwap();
    showNotice(t("same_switched", { source: languageName(same), target: languageName(target) }));
  }

  // The code of the language the gateway detects in `text`; null when it is unsure or cannot say (an error, a
  // limit, Stop): the translation then goes ahead, and the gateway checks it all again.
  async function detectSource(text, key, signal) {
    try {
      const response = await fetch("api/detect", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(keyRequired() && key ? { "X-API-Key": key } : {}) },
        body: JSON.stringify({ text }),
        signal,
      });
      if (!response.ok) return null;
      const body = await response.json();
      return body && typeof body.source === "string" && body.source !== "auto" ? body.source : null;
    } catch {
      return null;
    }
  }

  // ---- translating -------------------------------------------------------------------------------------------
  function setBusy(busy) {
    $("output").setAttribute("aria-busy", String(busy));
    $("stop").hidden = !busy;
  }

  async function translate({ switched = false } = {}) {
    const text = $("text").value;
    clearError();
    if (!switched) showNotice("");
    if (!text.trim()) {
      showError("empty_text");
      $("text").focus();
      return;
    }
    const count = charCount(text);
    if (state.maxChars !== null && count > state.maxChars) {
      showError("text_too_long", "", { count, max: state.maxChars });
      return;
    }
    if (!state.target) return;
    const key = accessKey();
    if (keyRequired() && !key) {
      showError("access_key_required");
      $("access-key").focus();
      return;
    }
    if (key) save(STORE.key, key);
    const options = requestOptions(text);
    if (options.error) {
      showError(options.error, "", options.values);
      $("options").open = true;
      if (options.focus) $(options.focus).focus();
      return;
    }
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const request = { text, target: state.target, source: state.source, ...options.fields };
    setOutput("", state.target);
    showWarnings([]);
    $("elapsed").textContent = "";
    setBusy(true);
    announce(t("translating"));
    let finished = false;
    try {
      const detected = request.source === "auto" && !switched ? await detectSource(text, key, controller.signal) : null;
      if (controller.signal.aborted) return; // Stop, or a newer translation, while detecting
      if (detected === request.target) {
        switchSameTarget();
        request.target = state.target;
        setOutput("", state.target);
      }
      const response = await fetch("api/translate/stream", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          // X-API-Key, not Authorization: a browser logged in to a proxy's basic auth sends that header itself.
          ...(keyRequired() && key ? { "X-API-Key": key } : {}),
        },
        body: JSON.stringify(request),
        signal: controller.signal,
      });
      if (!response.ok) {
        const error = await readError(response);
        if (error.code === "same_language" && request.source === "auto" && !switched) {
          switchSameTarget();
          setTimeout(() => translate({ switched: true })); // after this one's finally has run
          return;
        }
        showError(error.code, error.message, { count, max: state.maxChars });
        if (response.status === 503) checkReady();
        if (response.status === 401) $("access-key").focus();
        return;
      }
      finished = await readEvents(response, request);
      if (!finished && !controller.signal.aborted) showError("broken");
    } catch (error) {
      if (controller.signal.aborted) return;
      showError("network", String(error && error.message ? error.message : error));
      checkReady();
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch {
      /* not JSON: a proxy's error page */
    }
    return { code: response.status === 504 ? "upstream_timeout" : "unknown", message: `HTTP ${response.status}` };
  }

  // Reads the server-sent events; true when the translation completed ("done"), false otherwise.
  async function readEvents(response, request) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (!event) continue;
        if (event.type === "delta") {
          appendOutput(event.data.text || "");
        } else if (event.type === "done") {
          finishTranslation(event.data, request);
          return true;
        } else if (event.type === "error") {
          showError(event.data.code, event.data.message);
          if (event.data.code === "upstream_unreachable" || event.data.code === "upstream_not_ready") checkReady();
          return true;
        }
      }
    }
  }

  function parseEvent(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return null;
    try {
      return { type, data: JSON.parse(data.join("\n")) };
    } catch {
      return null;
    }
  }

  function finishTranslation(result, request) {
    setOutput(result.translation, result.target);
    showWarnings(result.warnings || []);
    $("elapsed").textContent = t("elapsed", { seconds: (result.elapsed_ms / 1000).toFixed(1) });
    if (request.source === "auto") {
      state.detected = result.source;
      updateDetected();
      updateSwap();
    }
    addHistory({
      source: request.source === "auto" ? result.source : request.source,
      target: result.target,
      text: request.text,
      translation: result.translation,
    });
    announce(result.warnings && result.warnings.length ? `${t("done")} ${t("warnings")}` : t("done"));
  }

  function stop() {
    if (!state.controller) return;
    state.controller.abort();
    state.controller = null;
    setBusy(false);
    announce(t("stopped"));
  }

  // ---- copy --------------------------------------------------------------------------------------------------
  async function copyOutput() {
    const text = outputText();
    if (!text) return;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        legacyCopy(text); // plain-HTTP deployments have no Clipboard API
      }
      announce(t("copied"));
    } catch {
      try {
        legacyCopy(text);
        announce(t("copied"));
      } catch {
        announce(t("copy_failed"));
      }
    }
  }

  function legacyCopy(text) {
    const scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.style.position = "fixed";
    scratch.style.opacity = "0";
    document.body.append(scratch);
    scratch.select();
    const ok = document.execCommand("copy");
    scratch.remove();
    if (!ok) throw new Error("copy refused");
  }

  // ---- history (this browser only) ---------------------------------------------------------------------------
  function history() {
    const entries = load(STORE.history, []);
    return Array.isArray(entries) ? entries.filter((e) => e && typeof e.text === "string") : [];
  }

  function addHistory(entry) {
    const entries = history().filter((e) => !(e.text === entry.text && e.target === entry.target));
    entries.unshift({ ...entry, at: Date.now() });
    save(STORE.history, entries.slice(0, HISTORY_SIZE));
    renderHistory();
  }

  function renderHistory() {
    const list = $("history-list");
    const entries = history();
    list.replaceChildren();
    for (const entry of entries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      const pair = document.createElement("span");
      pair.className = "pair";
      pair.textContent = `${languageName(entry.source)} → ${languageName(entry.target)}`;
      const snippet = document.createElement("span");
      snippet.className = "snippet";
      snippet.dir = "auto";
      snippet.textContent = entry.text.replace(/\s+/g, " ").slice(0, 120);
      button.append(pair, snippet);
      button.addEventListener("click", () => restore(entry));
      item.append(button);
      list.append(item);
    }
    $("history-empty").hidden = entries.length > 0;
    $("history-clear").hidden = entries.length === 0;
  }

  function restore(entry) {
    if (state.controller) stop();
    const source = entry.source === "auto" || state.byCode.has(entry.source) ? entry.source : "auto";
    if (!state.byCode.has(entry.target)) return;
    sourcePicker.set(source, { silent: true });
    targetPicker.set(entry.target, { silent: true });
    state.source = source;
    state.target = entry.target;
    state.detected = null;
    $("text").value = entry.text;
    setOutput(entry.translation || "", entry.target);
    showWarnings([]);
    showNotice("");
    $("elapsed").textContent = "";
    clearError();
    rememberPair();
    updateCounter();
    updateDetected();
    updateSwap();
    announce(t("history_restored"));
  }

  // ---- readiness banner --------------------------------------------------------------------------------------
  function showBanner(code) {
    state.bannerCode = code;
    const key = code === "upstream_not_ready" ? "banner_loading"
      : code === "offline" ? "banner_offline" : "banner_unreachable";
    $("banner-text").textContent = t(key);
    $("banner-retry").textContent = t("banner_retry");
    $("banner").hidden = false;
  }

  async function checkReady() {
    clearTimeout(state.pollTimer);
    if (document.hidden) return; // a background tab asks nothing; coming back to it checks at once
    let ready = false;
    let code = "offline";
    try {
      const response = await fetch("readyz", { cache: "no-store" });
      ready = response.ok;
      if (!ready) code = (await readError(response)).code;
    } catch {
      code = "offline";
    }
    const wasReady = state.ready;
    state.ready = ready;
    if (ready) {
      $("banner").hidden = true;
      if (wasReady === false) announce(t("ready_again"));
    } else {
      showBanner(code);
    }
    state.pollTimer = setTimeout(checkReady, ready ? READY_POLL_MS : NOT_READY_POLL_MS);
  }

  // ---- start -------------------------------------------------------------------------------------------------
  function renderFooter() {
    if (!state.info) return;
    $("footer").textContent = t("footer", { model: state.info.model, version: state.info.version });
  }

  function bindEvents() {
    $("translate").addEventListener("click", () => translate());
    $("stop").addEventListener("click", stop);
    $("swap").addEventListener("click", swapLanguages);
    $("copy").addEventListener("click", copyOutput);
    $("clear").addEventListener("click", () => {
      $("text").value = "";
      setOutput("", state.target);
      showWarnings([]);
      showNotice("");
      clearError();
      updateCounter();
      $("text").focus();
    });
    $("text").addEventListener("input", updateCounter);
    $("access-key").addEventListener("change", () => save(STORE.key, accessKey()));
    bindOptions();
    $("history-clear").addEventListener("click", () => {
      save(STORE.history, []);
      renderHistory();
    });
    $("ui-lang").addEventListener("click", () => {
      const ui = state.ui === "zh" ? "en" : "zh";
      save(STORE.ui, ui);
      applyUiLanguage(ui);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        translate();
      } else if (event.key === "Escape" && state.controller) {
        stop();
      }
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") checkReady();
    });
  }

  function start() {
    loadGlossary();
    state.ui = initialUiLanguage();
    applyUiLanguage(state.ui);
    bindEvents();
    checkReady();
    loadLanguages();
  }

  async function loadLanguages() {
    let languages;
    try {
      const [langResponse, infoResponse] = await Promise.all([fetch("api/languages"), fetch("api/info")]);
      if (!langResponse.ok || !infoResponse.ok) throw new Error(`HTTP ${langResponse.status}/${infoResponse.status}`);
      languages = (await langResponse.json()).languages;
      state.info = await infoResponse.json();
    } catch (error) {
      showError("network", String(error && error.message ? error.message : error));
      setTimeout(loadLanguages, NOT_READY_POLL_MS * 2);
      return;
    }
    state.languages = languages;
    state.byCode = new Map(languages.map((lang) => [lang.code, lang]));
    state.maxChars = state.info.max_chars;
    $("rehearsal-note").hidden = state.info.profile !== "rehearsal";
    showAccess();

    const pair = load(STORE.pair, {}) || {};
    const source = pair.source === "auto" || state.byCode.has(pair.source) ? pair.source : "auto";
    let target = state.byCode.has(pair.target) ? pair.target : state.ui === "zh" ? "en" : "zh";
    if (target === source) target = source === "zh" ? "en" : "zh";
    state.source = source;
    state.target = target;
    sourcePicker = new Picker("source", {
      allowAuto: true,
      onChange: (code) => {
        const previous = state.source;
        state.source = code;
        state.detected = null;
        if (code === state.target) {
          // Picking the target's language as the source trades the two places (or frees the target).
          const target = previous !== "auto" ? previous : code === "en" ? "zh" : "en";
          targetPicker.set(target, { silent: true });
          state.target = target;
          setOutputDirection(target);
        }
        rememberPair();
        updateDetected();
        updateSwap();
      },
    });
    targetPicker = new Picker("target", {
      allowAuto: false,
      onChange: (code) => {
        const previous = state.target;
        state.target = code;
        if (code === state.source) {
          sourcePicker.set(previous, { silent: true });
          state.source = previous;
          updateDetected();
        }
        setOutputDirection(code);
        rememberPair();
        updateSwap();
      },
    });
    sourcePicker.set(source, { silent: true });
    targetPicker.set(target, { silent: true });
    setOutputDirection(target);
    applyUiLanguage(state.ui);
    clearError();
    document.body.dataset.ready = "true"; // the page is wired up (tests wait for this)
  }

  document.addEventListener("DOMContentLoaded", start);
})();
