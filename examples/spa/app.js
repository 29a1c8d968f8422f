// The demo storefront: plain JavaScript, no build step. Every call goes to the API's origin
// from this page's origin, so the API must list this origin for the storefront app (CORS).
"use strict";

const settings = Object.assign({}, window.STOREFRONT || {});
for (const [name, value] of new URLSearchParams(window.location.search)) {
  if (["api", "key", "clientId"].includes(name)) settings[name] = value;
}

// What the shopper holds: the bearer, its customer context, and while anonymous the anonymous
// id with the token that proves it (kept to migrate the cart and to renew after a reload).
const session = { bearer: "", context: "", anonymousId: "", anonymousToken: "", customer: null };
let cart = null;
// The last checkout sent: a retry sends it again, the same key with the same body.
let lastCheckout = null;
const SAVED = "demo-storefront-anonymous";

const $ = (id) => document.getElementById(id);
const api = () => $("api").value.replace(/\/+$/, "");

function show(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

class ApiError extends Error {}

// One call to the API: JSON or form body, the shopper's headers, and a refusal turned into a
// message naming the API's code and the headers a browser script may read (CORS exposes them).
async function call(method, path, { json, form, headers = {}, shopper = true } = {}) {
  const sent = { ...headers };
  if (shopper && session.bearer) sent.Authorization = `Bearer ${session.bearer}`;
  if (shopper && session.context) sent["X-Customer-Context"] = session.context;
  let body;
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(api() + path, { method, headers: sent, body });
  const text = await response.text();
  const answer = text && response.headers.get("Content-Type")?.includes("json") ? JSON.parse(text) : text;
  if (!response.ok) {
    const parts = [`${method} ${path}: ${response.status}`];
    if (answer.code) parts.push(`code ${answer.code}: ${answer.detail || answer.title}`);
    if (answer.error) parts.push(`${answer.error}: ${answer.error_description || ""}`);
    for (const error of answer.errors || []) parts.push(`  ${error.field}: ${error.message}`);
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) parts.push(`Retry-After: ${retryAfter} s`);
    const challenge = response.headers.get("WWW-Authenticate");
    if (challenge) parts.push(`WWW-Authenticate: ${challenge}`);
    throw new ApiError(parts.join("\n"));
  }
  return { answer, headers: response.headers, status: response.status };
}

async function contextFor(bearer, withKey) {
  const headers = { Authorization: `Bearer ${bearer}` };
  if (withKey) headers["X-Auth-Key"] = $("key").value;
  const { answer } = await call("GET", "/commerceapi/authentication/customercontext", {
    headers,
    shopper: false,
  });
  return answer.customerContext;
}

// 1. An anonymous shopper: a new id, or after a reload the same id, proven by its last token.
async function start() {
  const saved = JSON.parse(localStorage.getItem(SAVED) || "null");
  const headers = { "X-Auth-Key": $("key").value };
  let json;
  if (saved) {
    headers.Authorization = `Bearer ${saved.token}`;
    json = { anonymousAuthenticationRequest: saved.anonymousId };
  }
  const { answer } = await call("POST", "/commerceapi/authentication/", { headers, json, shopper: false });
  Object.assign(session, {
    bearer: answer.accessToken,
    anonymousId: answer.anonymousId,
    anonymousToken: answer.accessToken,
    customer: null,
  });
  localStorage.setItem(SAVED, JSON.stringify({ token: answer.accessToken, anonymousId: answer.anonymousId }));
  session.context = await contextFor(session.bearer, false);
  $("shopper").textContent = `anonymous ${session.anonymousId}`;
  await loadProducts();
  await loadCart();
  show(`Anonymous shopper ${session.anonymousId}`);
}

async function loadProducts() {
  const { answer } = await call("GET", "/commerceapi/products?pageSize=100");
  const rows = $("products").querySelector("tbody");
  rows.replaceChildren();
  for (const product of answer.results) {
    const row = rows.insertRow();
    row.insertCell().textContent = product.sku;
    row.insertCell().textContent = product.name;
    const price = row.insertCell();
    price.className = "money";
    price.textContent = `${product.unitPrice} ${product.currency || ""}`.trim();
    const button = document.createElement("button");
    button.id = `add-${product.sku}`;
    button.textContent = product.inStock === false ? "Sold out" : "Add to cart";
    button.disabled = product.inStock === false;
    button.addEventListener("click", () => run(() => addToCart(product.sku)));
    row.insertCell().append(button);
  }
}

// 2. The cart: the API answers the whole cart after every change.
async function addToCart(sku) {
  const { answer } = await call("POST", "/commerceapi/cart/lines", { json: { sku, quantity: 1 } });
  showCart(answer);
  show(`Added ${sku}`);
}

async function loadCart() {
  const { answer } = await call("GET", "/commerceapi/cart");
  showCart(answer);
}

function showCart(answer) {
  cart = answer;
  const box = $("cart");
  if (!answer.lines.length) {
    box.textContent = "empty";
    return;
  }
  const table = document.createElement("table");
  table.innerHTML = '<tr><th>SKU</th><th>Product</th><th class="money">Quantity</th>' +
    '<th class="money">Unit price</th><th class="money">Line total</th></tr>';
  for (const line of answer.lines) {
    const row = table.insertRow();
    row.dataset.sku = line.sku;
    for (const value of [line.sku, line.name, line.quantity, line.unitPrice, line.lineTotal]) {
      row.insertCell().textContent = value;
    }
    for (const cell of [...row.cells].slice(2)) cell.className = "money";
  }
  const total = document.createElement("p");
  total.innerHTML = 'Subtotal: <span id="subtotal"></span>';
  total.querySelector("span").textContent = `${answer.subtotal} ${answer.currency}`;
  box.replaceChildren(table, total);
}

// 3. Sign in with the password grant of the token service (the sales channel is a public
// client: no secret), then 4. move the anonymous cart into the customer's.
async function signIn() {
  const { answer: token } = await call("POST", "/oauth/token", {
    form: {
      grant_type: "password",
      client_id: $("client-id").value,
      username: $("email").value,
      password: $("password").value,
    },
    shopper: false,
  });
  $("password").value = "";
  const anonymous = { anonymousId: session.anonymousId, anonymousToken: session.anonymousToken };
  session.bearer = token.access_token;
  session.context = await contextFor(session.bearer, true);
  const { answer: profile } = await call("GET", "/commerceapi/customer");
  session.customer = profile;
  $("shopper").textContent = `signed in as ${profile.email}`;
  let moved = "";
  if (anonymous.anonymousId) {
    const { answer: migration } = await call("POST", "/commerceapi/cart/migrate", { json: anonymous });
    showCart(migration.cart);
    moved = `, cart carried over (${migration.migration.lines.length} line(s))`;
    localStorage.removeItem(SAVED);
  } else {
    await loadCart();
  }
  show(`Signed in as ${profile.email}${moved}`);
}

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// 5. Checkout: one Idempotency-Key per order, the same on every retry, so that a retry after a
// lost answer or a double click orders nothing twice (the API marks the replayed answer).
async function checkout(again = false) {
  if (!again || !lastCheckout) {
    const json = cart && cart.lines.length ? { expectedTotal: cart.subtotal } : {};
    if (!session.customer) json.email = $("email").value;
    lastCheckout = { key: newIdempotencyKey(), json };
  }
  const { answer: order, headers } = await call("POST", "/commerceapi/orders", {
    json: lastCheckout.json,
    headers: { "Idempotency-Key": lastCheckout.key },
  });
  const replayed = headers.get("Idempotent-Replayed") === "true";
  const { answer: stored } = await call("GET", `/commerceapi/orders/${encodeURIComponent(order.orderNumber)}`);
  showOrder(stored, replayed, headers.get("Location"));
  await loadCart();
  show(`Order ${order.orderNumber} ${replayed ? "(the first answer again, nothing ordered twice)" : "placed"}`);
}

function showOrder(order, replayed, location) {
  const box = $("order");
  box.replaceChildren();
  const add = (id, label, value) => {
    const line = document.createElement("p");
    line.append(`${label}: `);
    const span = document.createElement("span");
    span.id = id;
    span.textContent = value;
    line.append(span);
    box.append(line);
  };
  add("order-number", "Order", order.orderNumber);
  add("order-status", "Status", `${order.status}, payment ${order.paymentStatus}`);
  add("order-total", "Total", `${order.total} ${order.currency}`);
  add("order-lines", "Lines", order.lines.map((line) => `${line.sku}: ${line.quantity}`).join(", "));
  add("order-replayed", "Idempotent-Replayed", replayed ? "true" : "false");
  add("order-location", "Location", location || "");
}

// Every button runs through here: one call at a time, its refusal shown as the API gave it.
let busy = false;
async function run(action) {
  if (busy) return;
  busy = true;
  document.body.dataset.busy = "true";
  try {
    await action();
  } catch (error) {
    show(error instanceof ApiError ? error.message : `Network or CORS failure: ${error}`, true);
  } finally {
    busy = false;
    document.body.dataset.busy = "false";
  }
}

window.addEventListener("DOMContentLoaded", () => {
  $("api").value = settings.api || "http://127.0.0.1:8000";
  $("key").value = settings.key || "";
  $("client-id").value = settings.clientId || "";
  $("email").value = settings.email || "demo@example.com";
  $("start").addEventListener("click", () => run(start));
  $("sign-in").addEventListener("click", () => run(signIn));
  $("checkout").addEventListener("click", () => run(() => checkout(false)));
  $("checkout-again").addEventListener("click", () => run(() => checkout(true)));
  document.body.dataset.busy = "false";
});
