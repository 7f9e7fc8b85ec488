// The privacy policy page: its version, the date it was last updated and the contact
// address come from the server (GET /v1/policy), not from this page's HTML.
const fill = (id, text) => {
  const element = document.getElementById(id);
  if (element && text) element.textContent = text;
};

fetch("/v1/policy", { headers: { accept: "application/json" } })
  .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
  .then((policy) => {
    fill("policy-version", policy.version);
    fill("policy-updated", policy.updated);
    const contact = document.getElementById("policy-contact");
    if (contact && policy.support_email) {
      contact.textContent = policy.support_email;
      contact.href = `mailto:${policy.support_email}`;
    }
    document.getElementById("policy-meta")?.removeAttribute("hidden");
  })
  .catch(() => {
    /* the page stays readable without its version line */
  });
