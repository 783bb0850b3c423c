// wagate portal: keeps lists current while they are open, and checks the profile form as you type.
// No library, no request to any other host.
"use strict";

(function () {
  var POLL_MS = 2000;

  // A [data-live] region is re-fetched from the page's own URL (only that part of the page,
  // asked for with X-Portal-Fragment) and replaced when it changed.
  function keepCurrent(region) {
    var last = region.innerHTML;
    var timer = null;
    function schedule() { timer = window.setTimeout(poll, POLL_MS); }
    function poll() {
      if (document.hidden) { schedule(); return; }
      fetch(window.location.pathname + window.location.search, {
        headers: { "X-Portal-Fragment": "1" },
        credentials: "same-origin",
        cache: "no-store"
      }).then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null && html !== last) { replace(region, html); last = region.innerHTML; }
        schedule();
      }, schedule);
    }
    schedule();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) { window.clearTimeout(timer); poll(); }
    });
  }

  // Replace the region's content, keeping the keyboard focus on the same link if it is still there.
  function replace(region, html) {
    var focused = document.activeElement;
    var href = focused && region.contains(focused) ? focused.getAttribute("href") : null;
    region.innerHTML = html;
    if (href) {
      var again = region.querySelector('a[href="' + CSS.escape(href) + '"]');
      if (again) { again.focus(); }
    }
  }

  // A form with data-validate posts its fields there as they change and shows the problems found.
  function checkAsYouType(form) {
    var timer = null;
    var touched = {};
    var token = form.querySelector('input[name="csrf_token"]');
    function show(problems) {
      form.querySelectorAll("[data-problem]").forEach(function (slot) {
        var name = slot.getAttribute("data-problem");
        if (!touched[name]) { return; }  // no complaint about a field not typed in yet
        var text = problems[name] || "";
        slot.textContent = text;
        var field = form.querySelector('[name="' + name + '"]');
        if (field) {
          if (text) { field.setAttribute("aria-invalid", "true"); } else { field.removeAttribute("aria-invalid"); }
        }
      });
    }
    function check() {
      fetch(form.getAttribute("data-validate"), {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token ? token.value : "" },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin"
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer) { show(answer.problems || {}); }
      }, function () {});
    }
    form.addEventListener("input", function (event) {
      if (event.target.name) { touched[event.target.name] = true; }
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 400);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(keepCurrent);
    document.querySelectorAll("form[data-validate]").forEach(checkAsYouType);
  });
})();
