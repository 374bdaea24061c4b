// What both report pages share: the embedded data, the verdicts in their order, and two DOM helpers.
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const ORDER = ["PASS", "NON-STRICT", "INFORMATIONAL", "UNSUPPORTED", "FAIL", "ERROR"];
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
};
