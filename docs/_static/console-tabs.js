// The tabs of ".. console::" (docs/_ext/djangodocs_dialect.py).
//
// A reader who chooses Windows in one console wants it in all of them:
// choosing a tab, with the mouse or the keyboard, chooses the tab of the
// same name in every console of the page. A link can choose too:
// page.html?tabs=Windows opens every console on its Windows tab.
"use strict";

(() => {
  const BUTTONS = ".console-block .tab-input";

  const nameOf = (button) => button.nextElementSibling.textContent;

  function choose(name) {
    for (const button of document.querySelectorAll(BUTTONS)) {
      if (nameOf(button) === name) {
        button.checked = true;
      }
    }
  }

  document.addEventListener("change", (event) => {
    const button = event.target;
    if (button.matches(BUTTONS) && button.checked) {
      choose(nameOf(button));
    }
  });

  function chooseFromAddress() {
    for (const name of new URLSearchParams(window.location.search).getAll("tabs")) {
      choose(name);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", chooseFromAddress);
  } else {
    chooseFromAddress();
  }
})();
