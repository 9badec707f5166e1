// Passkey ceremonies for Gatehouse's pages. A form marked data-passkey="register" or
// data-passkey="sign-in" carries the options the server made (data-options, JSON) and a hidden
// "response" field; the browser's answer goes into that field and the form is submitted.
// An input with autocomplete="... webauthn" inside a page that has a sign-in form starts the
// conditional (autofill) request. Messages come translated from the page (data-error).
(function () {
  'use strict';
  var W = window.SimpleWebAuthnBrowser;

  function showError(form, error) {
    var target = document.getElementById(form.getAttribute('data-error-target'));
    if (!target) return;
    target.textContent = form.getAttribute('data-error') || 'Error';
    target.hidden = false;
    if (window.console && error) console.warn(error);
  }

  function submitWith(form, answer) {
    form.querySelector('input[name="response"]').value = JSON.stringify(answer);
    form.submit();
  }

  function options(form) {
    return JSON.parse(form.getAttribute('data-options'));
  }

  // On submit, runs the ceremony W[start] with the form's options and submits its answer.
  // `quietAbort`: an AbortError (the request was replaced, e.g. by the autofill one) shows nothing.
  function onSubmit(form, start, quietAbort) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      W[start]({ optionsJSON: options(form) }).then(
        function (answer) {
          submitWith(form, answer);
        },
        function (error) {
          if (quietAbort && error && error.name === 'AbortError') return;
          showError(form, error);
        },
      );
    });
  }

  document.querySelectorAll('form[data-passkey="register"]').forEach(function (form) {
    onSubmit(form, 'startRegistration', false);
  });

  document.querySelectorAll('form[data-passkey="sign-in"]').forEach(function (form) {
    onSubmit(form, 'startAuthentication', true);
    if (form.getAttribute('data-conditional') === 'true' && document.querySelector('input[autocomplete$="webauthn"]')) {
      W.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (!supported) return;
        W.startAuthentication({ optionsJSON: options(form), useBrowserAutofill: true }).then(
          function (answer) {
            submitWith(form, answer);
          },
          function () {
            /* cancelled or replaced by the button */
          },
        );
      });
    }
  });
})();
