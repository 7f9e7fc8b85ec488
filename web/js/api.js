// The API client. The access token lives in this module's memory only; the refresh token
// is an HttpOnly cookie the page cannot read. Refreshing by cookie echoes the readable
// CSRF cookie in a header, which pages of other sites cannot do.

let accessToken = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)intrvuer_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function hasSession() {
  return Boolean(accessToken) || Boolean(csrfToken());
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

function setSession(body) {
  accessToken = body ? body.access_token : null;
  const user = body ? body.user : null;
  try {
    // Only what is not secret: the signed-in user's id and name.
    if (user) localStorage.setItem("intrvuer.user", JSON.stringify({ id: user.id, name: user.name }));
    else localStorage.removeItem("intrvuer.user");
  } catch (e) { /* storage may be disabled */ }
  for (const listener of listeners) listener(user);
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "Request failed";
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch (e) { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

/** Exchange the refresh cookie for a new access token; null when there is no session. */
export function refresh() {
  if (!csrfToken()) return Promise.resolve(null);
  if (!refreshing) {
    refreshing = fetch("/v1/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        "x-intrvuer-auth": "cookie",
        "x-csrf-token": csrfToken(),
      },
      body: "{}",
    })
      .then(async (response) => {
        if (!response.ok) {
          setSession(null);
          return null;
        }
        const body = await response.json();
        setSession(body);
        return body.user;
      })
      .catch(() => null)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function signedIn(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-intrvuer-auth": "cookie" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  const tokens = await response.json();
  setSession(tokens);
  return tokens.user;
}

export const signUp = (body) => signedIn("/v1/auth/register", body);
export const signIn = (body) => signedIn("/v1/auth/login", body);
/** After an OAuth redirect: move the fragment's refresh token into the cookie session. */
export const adoptRefreshToken = (token) => signedIn("/v1/auth/refresh", { refresh_token: token });

export async function signOut() {
  try {
    await fetch("/v1/auth/logout", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrfToken() },
      body: "{}",
    });
  } finally {
    setSession(null);
  }
}

/** Forget the session locally (the account was deleted, or the server ended the session). */
export function dropSession() {
  setSession(null);
}

async function send(path, options) {
  const headers = { ...(options.headers || {}) };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  return fetch(path, { ...options, headers, credentials: "same-origin" });
}

/**
 * Call the API. ``body`` (an object) goes as JSON. Answers the parsed JSON, null for 204,
 * or the Response itself with ``raw``. Throws ApiError with the server's code and message.
 */
export async function api(path, { method = "GET", body, raw = false, headers = {} } = {}) {
  const options = { method, headers: { ...headers } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (!accessToken) await refresh();
  let response = await send(path, options);
  if (response.status === 401 && (await refresh())) response = await send(path, options);
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

let routes = null;

/** Whether this server has a route for ``method path`` (from its OpenAPI document). */
export async function hasRoute(path, method = "get") {
  if (!routes) {
    routes = fetch("/openapi.json")
      .then((response) => (response.ok ? response.json() : { paths: {} }))
      .then((doc) => Object.entries(doc.paths || {}).map(([template, methods]) => ({
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`),
        methods: Object.keys(methods),
      })))
      .catch(() => []);
  }
  const bare = path.split("?")[0];
  return (await routes).some((route) => route.pattern.test(bare) && route.methods.includes(method));
}

/**
 * GET a route this server may not have yet (features land over time): null when it has
 * none, without asking for it, or when it answers 404.
 */
export async function optional(path) {
  if (!(await hasRoute(path))) return null;
  try {
    return await api(path);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
}

/** Upload a file with progress (fetch has no upload progress; XMLHttpRequest does). */
export async function upload(path, file, onProgress) {
  if (!accessToken) await refresh();
  const attempt = () =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.responseType = "json";
      if (accessToken) xhr.setRequestHeader("authorization", `Bearer ${accessToken}`);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => resolve(xhr));
      xhr.addEventListener("error", () => reject(new ApiError(0, "network_error", "The upload failed.")));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  let xhr = await attempt();
  if (xhr.status === 401 && (await refresh())) xhr = await attempt();
  const body = xhr.response;
  if (xhr.status >= 400) {
    const error = (body && body.error) || { code: "http_" + xhr.status, message: "Upload failed." };
    throw new ApiError(xhr.status, error.code, error.message);
  }
  return body;
}
