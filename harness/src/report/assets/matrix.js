// The implementation matrix: families × implementations, each cell the counts per verdict with a
// link to that implementation's report filtered to the family; or, in the per-case view, every
// case × implementation, so "who fails this case?" is one look. State in the URL's hash:
// #view=cases&q=<text>.

function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  return { view: p.get("view") === "cases" ? "cases" : "families", q: p.get("q") || "" };
}

function update(change) {
  const state = Object.assign(readState(), change);
  const p = new URLSearchParams();
  if (state.view === "cases") p.set("view", "cases");
  if (state.q) p.set("q", state.q);
  history.replaceState(null, "", p.toString() ? "#" + p : location.pathname);
  render(state);
}

// A cell's colour: its worst judged verdict; UNSUPPORTED and INFORMATIONAL only when nothing was judged.
function worst(counts) {
  return ["ERROR", "FAIL", "NON-STRICT", "PASS", "INFORMATIONAL", "UNSUPPORTED"].find((v) => counts[v]) || "UNSUPPORTED";
}

function header() {
  return el("tr", {}, el("th", {}, ""), ...data.implementations.map((i) => el("th", { title: i.subject }, el("a", { href: `${i.name}/report.html` }, i.name))));
}

function families(state) {
  const names = [...new Set(data.implementations.flatMap((i) => i.cases.map((c) => c.family)))].sort();
  const rows = names.filter((f) => f.toLowerCase().includes(state.q.toLowerCase())).map((f) => {
    const cells = data.implementations.map((i) => {
      const counts = {};
      for (const c of i.cases.filter((c) => c.family === f)) counts[c.verdict] = (counts[c.verdict] || 0) + 1;
      const text = ORDER.filter((v) => counts[v]).map((v) => `${counts[v]} ${v}`).join(" · ") || "–";
      const link = el("a", { href: `${i.name}/report.html#family=${encodeURIComponent(f)}` }, text);
      return el("td", { class: `cell ${worst(counts)}`, "data-impl": i.name }, link);
    });
    return el("tr", { "data-family": f }, el("th", {}, f), ...cells);
  });
  return [header(), ...rows];
}

function cases(state) {
  const ids = [...new Set(data.implementations.flatMap((i) => i.cases.map((c) => c.id)))].sort();
  const rows = ids.filter((id) => id.toLowerCase().includes(state.q.toLowerCase())).map((id) => {
    const cells = data.implementations.map((i) => {
      const c = i.cases.find((c) => c.id === id);
      if (!c) return el("td", {}, "–");
      return el("td", { class: `cell ${c.verdict}`, "data-impl": i.name }, el("a", { href: `${i.name}/report.html#case=${encodeURIComponent(id)}` }, c.verdict));
    });
    return el("tr", { "data-case": id }, el("th", {}, id), ...cells);
  });
  return [header(), ...rows];
}

function render(state) {
  $("#view-families").setAttribute("aria-pressed", String(state.view === "families"));
  $("#view-cases").setAttribute("aria-pressed", String(state.view === "cases"));
  $("#search").value = state.q;
  $("#matrix").replaceChildren(...(state.view === "cases" ? cases(state) : families(state)));
}

$("#view-families").addEventListener("click", () => update({ view: "families" }));
$("#view-cases").addEventListener("click", () => update({ view: "cases" }));
$("#search").addEventListener("input", (e) => update({ q: e.target.value }));
window.addEventListener("hashchange", () => render(readState()));
render(readState());
