// Loads a report.html and the matrix page (index.html) in headless Chromium and checks what a
// person relies on: no console errors, the verdict counts equal report.json's, a filter click
// shows only matching rows, opening a case shows its transcript, and the URL restores a filtered
// view with its case. Takes the screenshots the README shows.
//
//   node check.mjs REPORTS_DIR IMPLEMENTATION SCREENSHOT_DIR
// Needs Debian's chromium (/usr/bin/chromium, or STREAMCHECK_CHROMIUM) and `npm ci` here.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const [root, impl, shots] = process.argv.slice(2).map((a, i) => (i === 1 ? a : path.resolve(a)));
const executablePath = process.env.STREAMCHECK_CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => m.type() === "error" && errors.push(`${url}: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`${url}: ${e.message}`));
  await page.goto(url);
  return page;
}

const report = JSON.parse(fs.readFileSync(path.join(root, impl, "report.json"), "utf8"));
const reportUrl = "file://" + path.join(root, impl, "report.html");

// The counts on the page are report.json's, and every scenario has a row.
let page = await open(reportUrl);
for (const [verdict, n] of Object.entries(report.summary)) {
  assert.equal(await page.textContent(`#counts button[data-verdict="${verdict}"]`), `${verdict} ${n}`, `count of ${verdict}`);
}
assert.equal(await page.locator("tr.case").count(), report.scenarios.length, "one row per scenario");
await page.screenshot({ path: path.join(shots, "report.png") });

// A filter click shows only the matching rows, and puts the filter in the URL.
const filter = report.summary.FAIL ? "FAIL" : "PASS";
await page.click(`#counts button[data-verdict="${filter}"]`);
const shown = await page.locator("tr.case").evaluateAll((rows) => rows.map((r) => r.dataset.verdict));
assert.equal(shown.length, report.summary[filter], `rows after filtering ${filter}`);
assert.ok(shown.every((v) => v === filter), `only ${filter} rows: ${shown}`);
assert.ok(page.url().includes(`verdict=${filter}`), `the filter is in the URL: ${page.url()}`);

// Opening a case shows its evidence: the transcript and the scenario.
const first = report.scenarios.find((s) => s.verdict === filter);
await page.click(`tr.case[data-id="${first.id}"]`);
const evidence = page.locator("#evidence");
assert.ok(await evidence.isVisible(), "the evidence panel opens");
const text = await evidence.textContent();
assert.ok(text.includes("Transcript") && text.includes(first.id) && text.includes(first.spec), "transcript, id and clause are shown");
assert.ok(text.includes("--filter " + first.id), "the rerun command is shown");
await page.screenshot({ path: path.join(shots, "report-case.png") });

// The URL restores the filtered view with its case, in a fresh page.
const shared = page.url();
const again = await open(shared);
assert.equal(await again.locator("tr.case").count(), report.summary[filter], "the shared link keeps the filter");
assert.ok(await again.locator("#evidence").isVisible(), "the shared link opens the case");
assert.equal(await again.locator('#counts button[aria-pressed="true"]').textContent(), `${filter} ${report.summary[filter]}`);

// The matrix: each implementation's counts per family add up to its report's.
const matrix = await open("file://" + path.join(root, "index.html"));
const cells = await matrix.locator(`td.cell[data-impl="${impl}"]`).allTextContents();
const total = cells.flatMap((c) => [...c.matchAll(/(\d+) ([A-Z-]+)/g)]).reduce((n, m) => n + Number(m[1]), 0);
assert.equal(total, report.scenarios.length, "the matrix counts every scenario of the implementation");
await matrix.screenshot({ path: path.join(shots, "matrix.png") });
await matrix.click("#view-cases");
assert.ok(matrix.url().includes("view=cases"), "the per-case view is in the URL");
assert.equal(await matrix.locator("tr[data-case]").count(), report.scenarios.length, "one row per case");
const link = matrix.locator(`tr[data-case="${first.id}"] td[data-impl="${impl}"] a`);
assert.equal(await link.textContent(), first.verdict);
await link.click();
await matrix.waitForURL(/report\.html#case=/);
assert.ok(await matrix.locator("#evidence").isVisible(), "one click from the matrix to a case's evidence");

await browser.close();
assert.deepEqual(errors, [], "no console errors");
console.log(`ok: ${impl}'s report.html and index.html (${report.scenarios.length} scenarios; filter ${filter}); screenshots in ${shots}`);
