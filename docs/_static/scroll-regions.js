// A block that scrolls sideways (a long code line, a wide table) must be
// reachable with the keyboard, or a reader without a mouse cannot see its
// end. Every such block of the page gets a place in the tab order and a name
// that says what it holds; a block that fits again loses both. This runs on
// load and whenever a block's size changes.
(function () {
  "use strict";
  var MARK = "data-scroll-region";
  var BLOCKS = "article pre, article .table-wrapper, article .stage-diff";
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  function scrolls(el) {
    var style = getComputedStyle(el);
    var sideways = /auto|scroll/.test(style.overflowX) && el.scrollWidth > el.clientWidth;
    var down = /auto|scroll/.test(style.overflowY) && el.scrollHeight > el.clientHeight;
    return sideways || down;
  }

  function name(el) {
    var wrapper = el.closest(".literal-block-wrapper");
    var caption = wrapper && wrapper.querySelector(".code-block-caption .caption-text");
    if (el.matches(".table-wrapper")) {
      caption = el.querySelector("caption");
      return caption ? "Table: " + caption.textContent.trim() : "Table";
    }
    if (el.matches(".stage-diff")) {
      var heading = el.parentElement && el.parentElement.querySelector("h2, h3");
      return heading ? "Changes to " + heading.textContent.replace(/#$/, "").trim() : "Changes";
    }
    return caption ? "Code: " + caption.textContent.trim() : "Code";
  }

  function focusableInside(el) {
    return Array.prototype.some.call(el.querySelectorAll(FOCUSABLE), function (inner) {
      return !inner.matches(".headerlink");
    });
  }

  function update() {
    document.querySelectorAll(BLOCKS).forEach(function (el) {
      var marked = el.hasAttribute(MARK);
      if (scrolls(el)) {
        // A block whose own links or buttons can take the focus needs none.
        // A heading's permalink (a table caption's "#") doesn't count: it
        // stays hidden until the pointer is on it.
        if (!marked && (el.hasAttribute("tabindex") || focusableInside(el))) return;
        el.setAttribute(MARK, "");
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "group");
        el.setAttribute("aria-label", name(el));
      } else if (marked) {
        ["tabindex", "role", "aria-label", MARK].forEach(function (attribute) {
          el.removeAttribute(attribute);
        });
      }
    });
  }

  // A block's size changes with the window's width, and when it appears:
  // the console tab that holds it is picked, or the web fonts arrive.
  var pending = null;
  var observer = new ResizeObserver(function () {
    if (pending === null) {
      pending = requestAnimationFrame(function () {
        pending = null;
        update();
      });
    }
  });

  function start() {
    document.querySelectorAll(BLOCKS).forEach(function (el) {
      observer.observe(el);
    });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", update);
})();
