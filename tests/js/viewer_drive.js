// Drives pyrometer's HTML flame graph in headless Chromium and prints what it
// observed as one JSON object; tests/test_flamegraph.py asserts on it.
//
//   node viewer_drive.js PAGE.html OUT_DIR PLAN.json
//
// PLAN: {"zoom": name, "search": text, "regex": text, "hover": name,
//        "row": name, "threads": true, "inverted": true, "lines": name}
// Every key is optional; each adds its observations under the same key.
'use strict';
const path = require('path');
const fs = require('fs');
const {chromium} = require(process.env.PLAYWRIGHT_CORE || '/opt/pyrometer-tools/node/node_modules/playwright-core');

const [page_path, out_dir, plan_path] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(plan_path, 'utf8'));

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--no-first-run', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const out = {requests: [], dialogs: [], errors: [], console: []};
  try {
    const context = await browser.newContext({viewport: {width: 1400, height: 900}});
    const page = await context.newPage();
    page.on('request', (r) => out.requests.push(r.url()));
    page.on('dialog', async (d) => { out.dialogs.push(d.message()); await d.dismiss(); });
    page.on('pageerror', (e) => out.errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') out.console.push(m.text()); });
    const url = 'file://' + path.resolve(page_path);
    const t0 = Date.now();
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForSelector('html[data-ready="1"]', {timeout: 30000});
    out.open_ms = Date.now() - t0;
    // Chromium's own measure: navigation start to the end of the viewer's first draw.
    out.ready_ms = await page.evaluate(() => window.pyrometerViewer.readyMs);
    const state = () => page.evaluate(() => window.pyrometerViewer.state());
    const text = (sel) => page.evaluate((s) => { const e = document.querySelector(s); return e ? e.textContent : null; }, sel);
    const center = (name) => page.evaluate((n) => window.pyrometerViewer.frameCenter(n), name);
    out.initial = await state();
    out.title = await page.title();
    out.heading = await text('#title');
    out.summary = await text('#summary');
    out.status = await text('#status');
    out.timeline_visible = await page.evaluate(() => !document.getElementById('timeline-section').hidden);
    out.lines_panel_visible = await page.evaluate(() => !document.getElementById('lines-panel').hidden);
    await page.screenshot({path: path.join(out_dir, 'flamegraph.png')});

    if (plan.zoom) {
      const c = await center(plan.zoom);
      out.zoom = {found: !!c};
      if (c) {
        await page.mouse.click(c.x, c.y);
        out.zoom.after_click = await state();
        out.zoom.status = await text('#status');
        await page.screenshot({path: path.join(out_dir, 'flamegraph-zoomed.png')});
        await page.keyboard.press('Escape');
        out.zoom.after_escape = await state();
        await page.mouse.click(c.x, c.y);
        await page.click('#reset');
        out.zoom.after_button = await state();
      }
    }
    if (plan.hover) {
      const c = await center(plan.hover);
      out.hover = {found: !!c};
      if (c) {
        await page.mouse.move(c.x, c.y);
        out.hover.visible = await page.evaluate(() => !document.getElementById('tooltip').hidden);
        out.hover.lines = await page.evaluate(
          () => Array.from(document.getElementById('tooltip').children).map((e) => e.textContent));
        await page.mouse.move(1, 1);
      }
    }
    // The colour drawn at the middle of a function's widest frame, as [r, g, b].
    const pixel = (name) => page.evaluate((n) => {
      const c = window.pyrometerViewer.frameCenter(n);
      if (!c) return null;
      const canvas = document.getElementById('flame'), r = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const x = Math.round((c.x - r.left) * dpr), y = Math.round((c.y - r.top - 6) * dpr);
      return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
    }, name);
    if (plan.search) {
      const before = plan.search_frame ? await pixel(plan.search_frame) : null;
      const other_before = plan.other_frame ? await pixel(plan.other_frame) : null;
      await page.mouse.click(5, 5);
      await page.keyboard.press('/');
      out.search = {focused: await page.evaluate(() => document.activeElement.id)};
      await page.keyboard.type(plan.search);
      out.search.info = await text('#search-info');
      out.search.pixels = {match_before: before, match_after: plan.search_frame ? await pixel(plan.search_frame) : null,
                           other_before, other_after: plan.other_frame ? await pixel(plan.other_frame) : null};
      out.search.state = await state();
      out.search.table = await page.evaluate(
        () => Array.from(document.querySelectorAll('#functions tbody td.name')).map((e) => e.textContent));
      await page.screenshot({path: path.join(out_dir, 'flamegraph-search.png')});
      if (plan.regex) {
        await page.check('#regex');
        await page.fill('#search', plan.regex);
        out.search.regex_info = await text('#search-info');
        out.search.regex_state = await state();
        await page.fill('#search', '([');
        out.search.invalid_info = await text('#search-info');
        await page.uncheck('#regex');
      }
      await page.fill('#search', '');
      out.search.cleared_info = await text('#search-info');
    }
    if (plan.table) {
      const rows = () => page.evaluate(() => Array.from(document.querySelectorAll('#functions tbody tr')).map(
        (tr) => Array.from(tr.children).map((td) => td.textContent)));
      out.table = {initial: await rows()};
      await page.click('#functions th[data-key="self"]');
      out.table.by_self_desc = await rows();
      await page.click('#functions th[data-key="self"]');
      out.table.by_self_asc = await rows();
      await page.click('#functions th[data-key="name"]');
      out.table.by_name = await rows();
    }
    if (plan.row) {
      const clicked = await page.evaluate((name) => {
        const td = Array.from(document.querySelectorAll('#functions tbody td.name')).find((e) => e.textContent === name);
        if (!td) return false;
        td.click();
        return true;
      }, plan.row);
      out.row = {clicked, state: await state(), status: await text('#status'),
                 lines_title: await text('#lines-title'),
                 lines: await page.evaluate(() => Array.from(document.querySelectorAll('#lines tbody tr')).map(
                   (tr) => Array.from(tr.children).slice(0, 3).map((td) => td.textContent)))};
      await page.screenshot({path: path.join(out_dir, 'flamegraph-row.png')});
      await page.keyboard.press('Escape');
    }
    if (plan.threads) {
      out.threads = {options: await page.evaluate(() => Array.from(document.querySelectorAll('#thread option')).map(
        (o) => [o.value, o.text])), totals: [],
        disabled: await page.evaluate(() => document.getElementById('thread').disabled)};
      for (const [value] of (out.threads.disabled ? [] : out.threads.options)) {
        await page.selectOption('#thread', value);
        const s = await state();
        out.threads.totals.push([value, s.rootTotal, await text('#status')]);
      }
      if (!out.threads.disabled) await page.selectOption('#thread', '-1');
    }
    if (plan.inverted) {
      await page.selectOption('#view', 'inverted');
      out.inverted = {state: await state()};
      const c = await center(plan.inverted);
      out.inverted.found = !!c;
      if (c) {
        await page.mouse.move(c.x, c.y);
        out.inverted.hover = await page.evaluate(
          () => Array.from(document.getElementById('tooltip').children).map((e) => e.textContent));
      }
      await page.screenshot({path: path.join(out_dir, 'flamegraph-inverted.png')});
      await page.selectOption('#view', 'top');
    }
    if (plan.icicle) {
      await page.selectOption('#orient', 'icicle');
      out.icicle = {state: await state(), found: !!(await center(plan.icicle))};
      await page.screenshot({path: path.join(out_dir, 'flamegraph-icicle.png')});
    }
    if (plan.perf) {
      // Synchronous handlers: each timing covers the recompute and the redraw.
      out.perf = await page.evaluate(() => {
        const time = (fn) => { const t = performance.now(); fn(); return performance.now() - t; };
        const select = (id, value) => { const e = document.getElementById(id); e.value = value;
                                        e.dispatchEvent(new Event('change')); };
        const r = {reset_ms: [], thread_ms: [], inverted_ms: [], scroll_ms: []};
        for (let i = 0; i < 5; i++) r.reset_ms.push(time(() => document.getElementById('reset').click()));
        const threads = Array.from(document.querySelectorAll('#thread option')).map((o) => o.value);
        for (const t of threads) r.thread_ms.push(time(() => select('thread', t)));
        r.inverted_ms.push(time(() => select('view', 'inverted')));
        r.inverted_ms.push(time(() => select('view', 'top')));
        const box = document.getElementById('flame-scroll');
        for (let i = 0; i < 5; i++) {
          box.scrollTop = box.scrollTop - 200;
          r.scroll_ms.push(time(() => window.pyrometerViewer.redraw()));
        }
        return r;
      });
    }
    if (plan.probe_xss) {
      out.xss = await page.evaluate(() => ({
        imgs: document.querySelectorAll('img').length,
        svgs: document.querySelectorAll('svg').length,
        scripts: document.querySelectorAll('script').length,
        fired: window.__xss_fired === true,
        table_names: Array.from(document.querySelectorAll('#functions tbody td.name')).map((e) => e.textContent),
        thread_options: Array.from(document.querySelectorAll('#thread option')).map((o) => o.text),
        title: document.getElementById('title').textContent,
      }));
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
