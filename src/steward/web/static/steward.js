// Small enhancements of server-rendered pages; every page works without them.
(function () {
  "use strict";

  function setUpCompareForm(form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="run_id"]'));
    var all = form.querySelector("[data-select-all]");
    var button = form.querySelector("[data-compare-button]");
    var count = form.querySelector("[data-selection-count]");

    function update() {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (button) { button.disabled = n < 2; }
      if (count) {
        count.textContent = n === 0 ? "Select runs to compare." :
          n === 1 ? "1 run selected: pick at least one more." : n + " runs selected.";
      }
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }

    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    update();
  }

  function setUpOnlyDiffering(toggle) {
    var table = document.querySelector(toggle.getAttribute("data-only-differing"));
    if (!table) { return; }
    toggle.addEventListener("change", function () {
      table.classList.toggle("only-differing", toggle.checked);
    });
  }

  // The mlflow client prints links into MLflow's single-page UI ("View run at
  // http://host/#/experiments/1/runs/abc"); the fragment never reaches the server, so map it here
  // to Steward's page. On the login page it becomes the page to open after signing in.
  function mlflowLink(hash) {
    var e = function (s) { return encodeURIComponent(decodeURIComponent(s)); };
    var m = /^#\/experiments\/[^/]+\/runs\/([^/?]+)/.exec(hash);
    if (m) { return "/runs/" + e(m[1]); }
    m = /^#\/experiments\/([^/?]+)\/?$/.exec(hash);
    if (m) { return "/experiments/" + e(m[1]); }
    m = /^#\/models\/([^/?]+)\/versions\/(\d+)/.exec(hash);
    if (m) { return "/models/" + e(m[1]) + "?version=" + m[2]; }
    m = /^#\/models\/([^/?]+)\/?$/.exec(hash);
    if (m) { return "/models/" + e(m[1]); }
    return null;
  }

  var target = mlflowLink(window.location.hash);
  if (target) {
    var next = document.querySelector('form input[name="next"]');
    if (next) { next.value = target; } else { window.location.replace(target); }
  }

  document.querySelectorAll("[data-compare-form]").forEach(setUpCompareForm);
  document.querySelectorAll("[data-only-differing]").forEach(setUpOnlyDiffering);
})();
