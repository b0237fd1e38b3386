// End-to-end test of the sua web console in headless Debian chromium (playwright-core, no downloaded
// browser) with axe-core on every page. Driven by tests/api/console_browser.rs, which starts `sua serve`,
// creates the Province, the Comune and the tokens, and passes them in SUA_E2E (JSON).
//
// The flow: the municipality submits a request; the buyer accepts it, adopts the decision, sets the CIG
// and the deadline, publishes; two bidders submit (one attaches a file, with the progress bar); the clock
// passes the deadline; the buyer opens, admits, evaluates and awards; the municipality and the bidders
// see the outcome; the platform admin's pages. Screenshots of each role's main page go to SUA_SCREENSHOTS.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const cfg = JSON.parse(process.env.SUA_E2E);
const base = cfg.base;
const shots = process.env.SUA_SCREENSHOTS;
mkdirSync(shots, { recursive: true });
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const browser = await chromium.launch({
  executablePath: process.env.SUA_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const checked = [];
function step(msg) { console.log(`e2e: ${msg}`); }

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  checked.push(page.url());
  if (bad.length) {
    const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
    throw new Error(`axe on ${page.url()}:\n${lines.join("\n")}`);
  }
}

async function visit(page, url) {
  const r = await page.goto(base + url);
  if (!r.ok() && r.status() !== 303) throw new Error(`GET ${url}: ${r.status()}`);
  await axe(page);
}

async function login(token) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 }, bypassCSP: true });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { throw e; });
  await page.goto(base + "/");
  await axe(page);
  await page.fill("input[name=token]", token);
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Accedi')")]);
  await axe(page);
  return page;
}

/** Click the enabled button named `name` (and wait for the page it leads to); fail with the flash if refused. */
async function press(page, name, nth = 0) {
  const b = page.getByRole("button", { name, exact: true }).nth(nth);
  if (await b.isDisabled()) {
    const why = await b.evaluate((el) => el.parentElement.querySelector(".why")?.textContent);
    throw new Error(`button "${name}" disabled: ${why}`);
  }
  await Promise.all([page.waitForNavigation(), b.click()]);
  const err = await page.locator(".flash.err").count();
  if (err) throw new Error(`"${name}" refused: ${await page.locator(".flash.err").textContent()}`);
  await axe(page);
}

async function expectText(page, text) {
  const body = await page.textContent("body");
  if (!body.includes(text)) throw new Error(`${page.url()}: expected "${text}"`);
}

const sessions = {};
try {
  // 1. the municipality submits a request (first a bad CPV: the message next to the field)
  let muni = await login(cfg.municipality);
  await muni.screenshot({ path: path.join(shots, "comune.png"), fullPage: true });
  await muni.fill("#f-object", "Servizio di pulizia degli edifici comunali 2027");
  await muni.fill("#f-cpv", "9091120-8");
  await muni.fill("#f-estimated_amount", "180000,00");
  await muni.fill("#f-rup", "Mario Rossi");
  await muni.fill("#f-funding_source", "Fondi propri di bilancio");
  await Promise.all([muni.waitForNavigation(), muni.click("button:has-text('Invia la richiesta')")]);
  await muni.locator("#f-cpv-err").waitFor();
  await axe(muni);
  await muni.fill("#f-cpv", "90911200-8");
  await Promise.all([muni.waitForNavigation(), muni.click("button:has-text('Invia la richiesta')")]);
  await expectText(muni, "Richiesta inviata alla SUA");
  await axe(muni);
  const requestUrl = muni.url();
  step("request submitted");

  // 2. the buyer turns it into a tender and publishes it
  let buyer = await login(cfg.buyer);
  await visit(buyer, "/sua/richieste");
  await press(buyer, "Accetta e crea la gara");
  const tenderUrl = new URL(buyer.url()).pathname;
  await press(buyer, "Adotta la determina a contrarre");
  await buyer.fill("input[name=cig]", "B5A520026C");
  await press(buyer, "Salva il CIG");
  // the lot's evaluation rules are part of the lex specialis, fixed before publication (art. 54 c.2)
  await buyer.selectOption("select[name=anomaly_method]", "A");
  await press(buyer, "Salva le regole di valutazione");
  await press(buyer, "Acquisisci i CIG");
  const deadline = new Date(Date.now() + 40 * 86400e3);
  const rome = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Rome", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(deadline).replace(" ", "T");
  await buyer.fill("#deadline", rome);
  await press(buyer, "Salva la scadenza");
  await press(buyer, "Pubblica il bando");
  await expectText(buyer, "offerte aperte");
  step(`tender published: ${tenderUrl}`);
  const tenderId = tenderUrl.split("/").pop();

  // the public list finds it by title, CPV and municipality
  const anon = await (await browser.newContext({ viewport: { width: 1200, height: 900 }, bypassCSP: true })).newPage();
  await visit(anon, "/gare?q=pulizia&cpv=90911&comune=Castelrupe");
  await expectText(anon, "Servizio di pulizia degli edifici comunali 2027");
  await anon.screenshot({ path: path.join(shots, "pubblico.png"), fullPage: true });

  // 3. two bidders submit; A attaches a file to its administrative envelope
  let a = await login(cfg.bidder_a);
  await a.screenshot({ path: path.join(shots, "impresa.png"), fullPage: true });
  await visit(a, `/impresa/gare/${tenderId}`);
  await a.fill("input[name=declared_discount]", "12,345");
  await press(a, "Presenta l'offerta");
  await expectText(a, "sua receipt verify");
  await a.setInputFiles("input[type=file]", { name: "dgue.pdf", mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4\n" + "x".repeat(200000)) });
  await a.click("button:has-text('Carica il file')");
  await a.locator(".upload-status", { hasText: "File caricato" }).waitFor({ timeout: 30000 });
  if ((await a.locator("progress").getAttribute("value")) !== "100") throw new Error("progress bar not full");
  await axe(a);
  const receipt = await a.request.get(base + (await a.locator("a[download]").getAttribute("href")));
  if (!receipt.ok() || !(await receipt.text()).includes("signature")) throw new Error("no signed receipt");
  let b = await login(cfg.bidder_b);
  await visit(b, `/impresa/gare/${tenderId}`);
  await b.fill("input[name=declared_discount]", "9.5");
  await press(b, "Presenta l'offerta");
  step("two bids submitted");

  // the buyer sees two offers and no content
  await visit(buyer, tenderUrl);
  if ((await buyer.textContent("#n-offerte")).trim() !== "2") throw new Error("two offers expected");
  if ((await buyer.textContent("body")).includes("12.345")) throw new Error("bid content shown before opening");

  // 4. the clock passes the deadline; the scheduler closes the submissions
  const t = await (await fetch(`${base}/v1/tenders/${tenderId}`, { headers: { authorization: `Bearer ${cfg.buyer}` } })).json();
  const after = new Date(Date.parse(t.deadline) + 60e3).toISOString();
  const r = await fetch(`${base}/v1/admin/clock`, { method: "PUT",
    headers: { authorization: `Bearer ${cfg.admin}`, "content-type": "application/json" },
    body: JSON.stringify({ now: after }) });
  if (!r.ok) throw new Error(`clock: ${r.status}`);
  // forty days later every console session has expired (eight idle hours): everyone logs in again
  for (const [name, token] of [["buyer", cfg.buyer], ["muni", cfg.municipality], ["a", cfg.bidder_a], ["b", cfg.bidder_b]]) {
    const p = name === "buyer" ? buyer : name === "muni" ? muni : name === "a" ? a : b;
    await p.goto(base + "/sua");
    if (new URL(p.url()).pathname !== "/") throw new Error(`${name}: session still valid after 40 days`);
    sessions[name] = await login(token);
  }
  buyer = sessions.buyer; muni = sessions.muni; a = sessions.a; b = sessions.b;
  for (let i = 0; ; i++) {
    await buyer.goto(base + tenderUrl);
    if ((await buyer.textContent("#stato-gara")).includes("offerte chiuse")) break;
    if (i > 60) throw new Error("the tender never closed");
    await new Promise((res) => setTimeout(res, 500));
  }
  step("deadline passed, submissions closed");

  // 5. the buyer opens, admits, evaluates and awards
  await press(buyer, "Avvia la valutazione");
  await press(buyer, "Apri le buste amministrative");
  // a soccorso istruttorio on the first bid (art. 101), its term in the form; the operator regularises
  await buyer.fill("input[name=soccorso_days] >> nth=0", "7");
  await press(buyer, "Richiedi il soccorso istruttorio");
  await expectText(buyer, "in soccorso istruttorio");
  await press(buyer, "Registra la regolarizzazione dell'operatore");
  await press(buyer, "Ammetti");
  await press(buyer, "Ammetti");
  await press(buyer, "Avvia la valutazione economica");
  await press(buyer, "Apri le offerte economiche");
  await press(buyer, "Esegui la valutazione");
  await expectText(buyer, "Valutazione (verbale)");
  await press(buyer, "Proponi l'aggiudicazione");
  await press(buyer, "Verifica i requisiti");
  await press(buyer, "Aggiudica");
  await expectText(buyer, "aggiudicat");
  await buyer.screenshot({ path: path.join(shots, "sua-gara.png"), fullPage: true });
  await visit(buyer, "/sua");
  await buyer.screenshot({ path: path.join(shots, "sua.png"), fullPage: true });
  step("awarded");

  // 6. the municipality and the bidders see the outcome
  await visit(muni, new URL(requestUrl).pathname);
  await expectText(muni, "aggiudicato");
  await visit(a, "/impresa");
  await expectText(a, "aggiudicata a voi");
  await visit(b, `/impresa/gare/${tenderId}`);
  await expectText(b, "La vostra offerta");
  await visit(anon, `/gare/${tenderId}`);
  await expectText(anon, "Graduatoria del lotto 1");
  // 7. the platform admin's pages, a refused form among them
  const admin = await login(cfg.admin);
  await admin.fill("#pv-code", "ZZ");
  await admin.fill("#pv-name", " ");
  await Promise.all([admin.waitForNavigation(), admin.click("button:has-text('Crea la Provincia')")]);
  await admin.locator("#pv-name-err").waitFor();
  await axe(admin);
  await visit(admin, "/admin/registro");
  await expectText(admin, "Catena integra");
  step("admin pages");
  step(`done; axe clean on ${checked.length} page loads`);
} finally {
  await browser.close();
}
