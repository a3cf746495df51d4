// Deskbridge for Zendesk: opens the gateway's per-ticket view for the ticket in view, in this
// sidebar frame. The gateway allows the Zendesk page (its configured base_url) to frame it.
"use strict";
(function () {
  const status = document.getElementById("status");
  const client = ZAFClient.init();
  client.invoke("resize", { width: "100%", height: "640px" });
  Promise.all([client.metadata(), client.get("ticket.id")])
    .then(([meta, data]) => {
      const base = String(meta.settings.gateway_url || "").replace(/\/+$/, "");
      const helpdesk = String(meta.settings.helpdesk || "");
      const ticket = String(data["ticket.id"] || "");
      if (!/^https:\/\/[^/]+$/.test(base) || !/^[A-Za-z0-9._-]+$/.test(helpdesk) || !/^\d+$/.test(ticket)) {
        status.textContent = "Deskbridge is not set up: check the app's gateway URL (https) and helpdesk name.";
        return;
      }
      window.location.replace(base + "/console/tickets/" + encodeURIComponent(helpdesk) + "/" + encodeURIComponent(ticket));
    })
    .catch(() => { status.textContent = "Deskbridge could not read the ticket."; });
})();
