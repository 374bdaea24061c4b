// One implementation's report: a table grouped by clause, filters by verdict and family, a text
// search, and a case's evidence on click. The state lives in the URL's hash, so a filtered view
// or one case can be shared as a link: #verdict=FAIL&family=streams/eof&q=readline&case=<id>.

function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  return { verdict: p.get("verdict") || "", family: p.get("family") || "", q: p.get("q") || "", case: p.get("case") || "" };
}

function writeState(state) {
  const p = new URLSearchParams();
  for (const k of ["verdict", "family", "q", "case"]) if (state[k]) p.set(k, state[k]);
  const hash = p.toString();
  if (hash !== location.hash.slice(1)) history.replaceState(null, "", hash ? "#" + hash : location.pathname);
}

function matches(c, state) {
  if (state.verdict && c.verdict !== state.verdict) return false;
  if (state.family && c.family !== state.family) return false;
  if (!state.q) return true;
  const q = state.q.toLowerCase();
  return [c.id, c.clause, c.description || "", c.reason || ""].some((s) => s.toLowerCase().includes(q));
}

function renderCounts(state) {
  const box = $("#counts");
  box.replaceChildren();
  for (const v of ORDER) {
    const n = data.cases.filter((c) => c.verdict === v).length;
    if (!n) continue;
    const b = el("button", { class: v, "data-verdict": v, "aria-pressed": String(state.verdict === v) }, `${v} ${n}`);
    b.addEventListener("click", () => update({ verdict: state.verdict === v ? "" : v, case: "" }));
    box.append(b);
  }
}

function renderTable(state) {
  const body = $("#cases tbody");
  body.replaceChildren();
  const groups = new Map();
  for (const c of data.cases.filter((c) => matches(c, state))) {
    if (!groups.has(c.clause)) groups.set(c.clause, []);
    groups.get(c.clause).push(c);
  }
  for (const [clause, cases] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    body.append(el("tr", { class: "group" }, el("th", { colspan: "3" }, `${clause} (${cases.length})`)));
    for (const c of cases) {
      const row = el("tr", { class: "case", "data-id": c.id, "data-verdict": c.verdict },
        el("td", {}, c.id), el("td", { class: `verdict ${c.verdict}` }, c.verdict), el("td", {}, c.reason || ""));
      row.addEventListener("click", () => update({ case: c.id }));
      body.append(row);
    }
  }
  $("#shown").textContent = `${body.querySelectorAll("tr.case").length} of ${data.cases.length} scenarios shown`;
}

function section(title, text) {
  return [el("h3", {}, title), el("pre", {}, text)];
}

function renderEvidence(state) {
  const panel = $("#evidence");
  const c = data.cases.find((c) => c.id === state.case);
  if (!c) {
    panel.hidden = true;
    return;
  }
  const close = el("button", { class: "close", type: "button" }, "close ✕");
  close.addEventListener("click", () => update({ case: "" }));
  const facts = el("dl", {},
    el("dt", {}, "verdict"), el("dd", {}, el("span", { class: `v ${c.verdict}` }, c.verdict)),
    el("dt", {}, "clause"), el("dd", {}, c.clause),
    el("dt", {}, "deciding step"), el("dd", {}, c.step == null ? "—" : String(c.step)),
    el("dt", {}, "expected"), el("dd", {}, c.expected.length ? c.expected.join("  or  ") : "—"),
    el("dt", {}, "actual"), el("dd", {}, c.actual || "—"),
    el("dt", {}, "rerun"), el("dd", {}, el("code", {}, c.rerun)));
  const parts = [close, el("h2", {}, c.id), el("p", {}, c.description || ""), facts];
  if (c.reason) parts.push(el("p", {}, el("strong", {}, "Why not PASS: "), c.reason));
  if (c.explanation) {
    const link = c.explanation.link ? el("a", { href: c.explanation.link }, c.explanation.link) : "";
    parts.push(el("p", {}, el("strong", {}, "Explained: "), c.explanation.reason, " ", link));
  }
  if (c.cpython) parts.push(el("p", { class: "muted" }, "CPython versions: " + c.cpython));
  parts.push(...section(`Transcript (${data.world === "sim" ? "simulated" : "wall"} time)`, c.transcript));
  parts.push(...section("Scenario", c.scenario));
  panel.replaceChildren(...parts);
  panel.hidden = false;
}

function renderFamilies(state) {
  const select = $("#family");
  if (!select.options.length) {
    select.append(el("option", { value: "" }, "all families"));
    for (const f of [...new Set(data.cases.map((c) => c.family))].sort()) select.append(el("option", { value: f }, f));
    select.addEventListener("change", () => update({ family: select.value, case: "" }));
  }
  select.value = state.family;
}

function update(change) {
  const state = Object.assign(readState(), change);
  writeState(state);
  render(state);
}

function render(state) {
  renderCounts(state);
  renderFamilies(state);
  $("#search").value = state.q;
  renderTable(state);
  renderEvidence(state);
}

$("#search").addEventListener("input", (e) => update({ q: e.target.value, case: "" }));
window.addEventListener("hashchange", () => render(readState()));
render(readState());
