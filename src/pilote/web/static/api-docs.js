// The API's interactive documentation (Swagger UI, vendored), started without inline script.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.openapi, domNode: root, deepLinking: true });
});
