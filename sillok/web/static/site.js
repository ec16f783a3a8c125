// Small conveniences; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The header's menu is open on a wide screen, folded on a phone (without this file its
  // toggle shows at every width).
  document.documentElement.classList.add("js");
  var wide = window.matchMedia("(min-width: 50rem)");
  var menus = document.querySelectorAll("details[data-open-wide]");
  function fit() { menus.forEach(function (menu) { menu.open = wide.matches; }); }
  fit();
  wide.addEventListener("change", fit);
  // In the long entry form, Enter in a one-line field neither saves nor adds an act.
  document.querySelectorAll("form[data-enter-stays]").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      var field = event.target;
      if (event.key === "Enter" && field instanceof HTMLInputElement &&
          field.type !== "submit" && field.type !== "button") {
        event.preventDefault();
      }
    });
  });
  // "Add another act/event" buttons clone a hidden template instead of a round trip.
  document.querySelectorAll("[data-clone]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var template = document.getElementById(button.getAttribute("data-clone"));
      var target = document.getElementById(button.getAttribute("data-into"));
      if (!template || !target) { return; }
      event.preventDefault();
      var counter = button.getAttribute("data-counter");
      var next = parseInt(target.getAttribute(counter) || "0", 10);
      var placeholder = button.getAttribute("data-placeholder") || "__N__";
      var html = template.innerHTML.split(placeholder).join(String(next));
      target.insertAdjacentHTML("beforeend", html);
      target.setAttribute(counter, String(next + 1));
      var first = target.lastElementChild && target.lastElementChild.querySelector("input, select");
      if (first) { first.focus(); }
    });
  });
});
