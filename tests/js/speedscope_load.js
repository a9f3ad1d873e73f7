// Loads a profile into the real speedscope app (npm `speedscope`) in headless
// Chromium and prints what it imported, as JSON on stdout:
//   {"ok": bool, "title": ..., "importedAs": ..., "errors": [...],
//    "rows": [[cell, ...], ...]}
// "rows" is the text of every table row in speedscope's Sandwich view: the
// profile (thread) switcher's rows [index, name, total], then one row per
// function of the first profile [total, self, name], as speedscope formats them.
// Usage: node speedscope_load.js PROFILE_FILE [NAME]
// Env: NODE_PATH (where playwright-core and speedscope live), CHROMIUM.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const file = process.argv[2];
  const name = process.argv[3] || path.basename(file);
  const speedscopeDir = path.dirname(require.resolve('speedscope/package.json'));
  const index = path.join(speedscopeDir, 'dist', 'release', 'index.html');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'speedscope-'));
  const loader = path.join(work, 'load.js');
  const b64 = fs.readFileSync(file).toString('base64');
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(b64)});\n`);
  // A fresh user-data-dir per run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--no-first-run', '--disable-sync', '--allow-file-access-from-files'],
  });
  const result = { ok: false, title: '', importedAs: null, errors: [], rows: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => {
      const text = msg.text();
      const m = /Importing as (.*)/.exec(text);
      if (m) result.importedAs = m[1];
      if (/Failed to load format|Unrecognized format|error/i.test(text)) result.errors.push(text);
    });
    page.on('pageerror', (e) => result.errors.push(String(e)));
    page.on('dialog', async (d) => { result.errors.push('dialog: ' + d.message()); await d.dismiss(); });
    await page.goto('file://' + index + '#localProfilePath=' + encodeURIComponent(loader));
    // The title becomes "<profile name> - speedscope" once a profile is imported
    // (the name inside the file when it has one, else the file name).
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && result.errors.length === 0) {
      result.title = await page.title();
      if (result.title.endsWith(' - speedscope')) break;
      await page.waitForTimeout(100);
    }
    result.ok = result.title.endsWith(' - speedscope') && result.errors.length === 0;
    if (result.ok) {
      // Sandwich view: a table of every function with total and self weight.
      await page.keyboard.press('3');
      const readRows = () => page.evaluate(() => {
        const rows = [];
        for (const tr of document.querySelectorAll('tr')) {
          const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim());
          if (cells.length >= 3) rows.push(cells);
        }
        return rows;
      });
      // Wait until the table is rendered and stable (a busy machine renders slowly).
      let previous = '';
      for (const end = Date.now() + 15000; Date.now() < end;) {
        await page.waitForTimeout(250);
        result.rows = await readRows();
        const now = JSON.stringify(result.rows);
        if (result.rows.some((r) => !/^\d+$/.test(r[0])) && now === previous) break;
        previous = now;
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => { process.stdout.write(JSON.stringify({ ok: false, errors: [String(e)] }) + '\n'); });
