// eduops feedback widget: <script src="https://eduops.example/feedback/static/widget.js"
//   data-key="<API key with scope ingest:feedback>" data-user="u123" data-app-version="5.3.0" defer></script>
// Adds a small "反馈 / Feedback" button; what the user writes is posted to eduops' /api/v1/feedback.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var endpoint = new URL("/api/v1/feedback", script.src).href;
  var key = script.dataset.key || "";
  var zh = (navigator.language || "zh").toLowerCase().indexOf("zh") === 0;
  var t = zh ? {open: "反馈", title: "遇到问题或有建议？", send: "提交", thanks: "已收到，谢谢！", fail: "提交失败，请稍后再试"}
             : {open: "Feedback", title: "A problem or an idea?", send: "Send", thanks: "Received, thank you!",
                fail: "Could not send, please try again"};
  function el(tag, css, text) {
    var node = document.createElement(tag);
    node.style.cssText = css;
    if (text) node.textContent = text;
    return node;
  }
  function mount() {
    var button = el("button", "position:fixed;right:16px;bottom:16px;z-index:99999;padding:8px 14px;border:0;" +
      "border-radius:18px;background:#2b6cb0;color:#fff;font:14px sans-serif;cursor:pointer", t.open);
    button.id = "eduops-feedback-open";
    var panel = el("div", "position:fixed;right:16px;bottom:60px;z-index:99999;width:300px;padding:12px;" +
      "background:#fff;border:1px solid #d0d7de;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15);" +
      "font:14px sans-serif;display:none");
    panel.id = "eduops-feedback-panel";
    var text = el("textarea", "width:100%;box-sizing:border-box;height:90px;margin:8px 0");
    text.id = "eduops-feedback-text";
    text.maxLength = 5000;
    var send = el("button", "padding:6px 12px;border:0;border-radius:4px;background:#2b6cb0;color:#fff", t.send);
    send.id = "eduops-feedback-send";
    var status = el("div", "margin-top:6px;color:#52606d");
    status.id = "eduops-feedback-status";
    panel.appendChild(el("div", "font-weight:600", t.title));
    panel.appendChild(text);
    panel.appendChild(send);
    panel.appendChild(status);
    button.addEventListener("click", function () {
      panel.style.display = panel.style.display === "none" ? "block" : "none";
    });
    send.addEventListener("click", function () {
      if (!text.value.trim()) return;
      send.disabled = true;
      fetch(endpoint, {
        method: "POST",
        headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
        body: JSON.stringify({text: text.value, channel: "widget", page: location.href,
                              user: script.dataset.user || "", app_version: script.dataset.appVersion || ""})
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        status.textContent = t.thanks;
        text.value = "";
      }).catch(function () {
        status.textContent = t.fail;
      }).then(function () {
        send.disabled = false;
      });
    });
    document.body.appendChild(button);
    document.body.appendChild(panel);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
