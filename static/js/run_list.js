// The run list: tick all rows of the page at once.
document.querySelectorAll("[data-select-all]").forEach(function (box) {
  box.addEventListener("change", function () {
    document.querySelectorAll("input[name=runs][form=bulk-form]").forEach(function (b) { b.checked = box.checked; });
  });
});
