// Starts ReDoc on the API reference page; the schema URL comes from a data attribute (no inline script).
"use strict";
(function () {
  // ReDoc's sidebar credits Redocly with a logo fetched from their CDN. This app loads nothing from a third
  // party (its CSP refuses it, and the refusal is a console error), so the logo is never requested (the
  // image stays hidden); the credit stays, as text.
  const REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      if (value === REDOCLY_LOGO) this.hidden = true;
      else src.set.call(this, value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && name === "src" && value === REDOCLY_LOGO) {
      this.hidden = true;
    } else {
      setAttribute.call(this, name, value);
    }
  };

  const root = document.getElementById("redoc");
  // ReDoc's search runs in a Web Worker made from a blob: URL, which the CSP's script-src refuses: the
  // page goes without search (Swagger UI filters by tag) rather than relax what may run.
  Redoc.init(root.dataset.schemaUrl, { expandResponses: "200,201,202", disableSearch: true }, root);
})();
