// Progressive enhancement only: every page works without this file.
// Filter forms submit themselves when a select changes, so browsing needs fewer clicks.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.tagName === "SELECT" && el.form && el.form.classList.contains("filters")) {
    var page = el.form.querySelector("input[name=page]");
    if (page) page.value = "1";
    el.form.submit();
  }
});
