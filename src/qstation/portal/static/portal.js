// qstation portal: small enhancements; every page works without this script.
"use strict";

// Copy buttons: data-copy holds the text, data-copy-from names an element whose text to copy.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = button.dataset.copyFrom && document.getElementById(button.dataset.copyFrom);
  const text = source ? source.textContent : button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (error) {
    const range = document.createRange();  // no clipboard (plain http): select it instead
    range.selectNodeContents(source || button.previousElementSibling);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
});

// Live rows of the job list: rows still queued or running are fetched again every few
// seconds and swapped in place, so the page never reloads.
const LIVE_SECONDS = 3;
async function refreshLiveRows() {
  const live = [...document.querySelectorAll("tr[data-live]")];
  if (live.length === 0) return;
  const query = live.map((row) => "id=" + encodeURIComponent(row.dataset.live)).join("&");
  const response = await fetch("/jobs/rows?" + query, { credentials: "same-origin" });
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = "<table><tbody>" + (await response.text()) + "</tbody></table>";
  for (const fresh of template.content.querySelectorAll("tr[id]")) {
    const current = document.getElementById(fresh.id);
    if (!current) continue;
    const box = current.querySelector("input[type=checkbox]");
    const freshBox = fresh.querySelector("input[type=checkbox]");
    if (box && freshBox && !freshBox.disabled) freshBox.checked = box.checked;
    current.replaceWith(fresh);
  }
}
if (document.getElementById("job-rows")) {
  setInterval(() => refreshLiveRows().catch(() => {}), LIVE_SECONDS * 1000);
}

// A job page that is not finished reloads itself while the tab is visible.
const refreshing = document.querySelector("[data-refresh]");
if (refreshing) {
  setInterval(() => {
    if (document.visibilityState === "visible" && !document.activeElement.closest("form")) {
      location.reload();
    }
  }, Number(refreshing.dataset.refresh) * 1000);
}
