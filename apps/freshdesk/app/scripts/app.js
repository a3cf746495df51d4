// Deskbridge for Freshdesk: opens the gateway's per-ticket view for the ticket in view, in
// this sidebar frame. Add the app's host to [console] frame_ancestors if Freshdesk shows the
// app from an origin other than your helpdesk's base_url.
"use strict";
(function () {
  const status = document.getElementById("status");
  app.initialized()
    .then((client) => Promise.all([client.iparams.get(), client.data.get("ticket")]))
    .then(([settings, data]) => {
      const base = String(settings.gateway_url || "").replace(/\/+$/, "");
      const helpdesk = String(settings.helpdesk || "");
      const ticket = String((data.ticket && data.ticket.id) || "");
      if (!/^https:\/\/[^/]+$/.test(base) || !/^[A-Za-z0-9._-]+$/.test(helpdesk) || !/^\d+$/.test(ticket)) {
        status.textContent = "Deskbridge is not set up: check the app's gateway URL (https) and helpdesk name.";
        return;
      }
      window.location.replace(base + "/console/tickets/" + encodeURIComponent(helpdesk) + "/" + encodeURIComponent(ticket));
    })
    .catch(() => { status.textContent = "Deskbridge could not read the ticket."; });
})();
