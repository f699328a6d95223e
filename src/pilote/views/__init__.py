"""Read models of the cockpit: one module per page, typed results, shared by the web pages and the API."""
