// Behaviour that used to be inline attributes (the Content-Security-Policy allows no inline script):
//   <select data-autosubmit>  submits its form when changed;
//   <form data-confirm-submit="question">  asks before submitting.
document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
  field.addEventListener("change", function () { if (field.form) field.form.submit(); });
});
document.querySelectorAll("form[data-confirm-submit]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm-submit"))) event.preventDefault();
  });
});
