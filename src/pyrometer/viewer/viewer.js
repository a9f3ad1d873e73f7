/* pyrometer's flame graph viewer: plain JavaScript, no network, no framework.
 *
 * Every string in the profile (function names, files, thread names, meta) is
 * untrusted. It reaches the page only through textContent, canvas fillText
 * and <option>.text; never through innerHTML or attribute strings.
 *
 * Data (see export/viewer_data.h): interned strings, functions, stack nodes
 * (a prefix tree with lines) and per-thread leaf weights. The views are
 * derived here: a call tree by function (stack nodes that differ only by line
 * fold together), an inverted tree, per-function totals and per-line hits. */
(function () {
  'use strict';

  var ROW = 18;          /* px per frame row */
  var MIN_WIDTH = 0.75;  /* frames narrower than this (px) are not drawn */
  var TABLE_ROWS = 300;  /* function table rows rendered at once */

  var D = JSON.parse(document.getElementById('pyrometer-data').textContent);
  var TITLE = JSON.parse(document.getElementById('pyrometer-title').textContent);
  var S = D.strings;
  var BYTES = D.value_unit === 'bytes';

  /* ---- decoding ---- */
  var nFunc = D.functions.length / 4;
  var fName = new Array(nFunc), fFile = new Array(nFunc);
  var fLine = new Int32Array(nFunc), fKind = new Uint8Array(nFunc);
  for (var f = 0; f < nFunc; f++) {
    fName[f] = S[D.functions[4 * f]] || '';
    fFile[f] = S[D.functions[4 * f + 1]] || '';
    fLine[f] = D.functions[4 * f + 2];
    fKind[f] = D.functions[4 * f + 3];
  }
  var nStack = D.nodes.length / 3;
  var sParent = new Int32Array(nStack), sFunc = new Int32Array(nStack), sLine = new Int32Array(nStack);
  var hasLines = false;
  for (var s = 0; s < nStack; s++) {
    var pd = D.nodes[3 * s];
    sParent[s] = pd === 0 ? -1 : s - pd;
    sFunc[s] = D.nodes[3 * s + 1];
    sLine[s] = D.nodes[3 * s + 2];
    if (sLine[s] !== 0) hasLines = true;
  }
  var threads = D.threads.map(function (t, i) {
    var list = D.weights[i] || [], n = list.length / 2;
    var nodes = new Int32Array(n), w = new Float64Array(n), prev = -1, total = 0;
    for (var k = 0; k < n; k++) {
      prev += list[2 * k];
      nodes[k] = prev;
      w[k] = list[2 * k + 1];
      total += w[k];
    }
    return {id: t[0], name: S[t[1]] || '', nodes: nodes, w: w, total: total};
  });

  /* ---- formatting ---- */
  function fmtCount(v) { return Math.round(v).toLocaleString('en-US'); }
  function fmtBytes(v) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, a = Math.abs(v);
    while (a >= 1024 && i < units.length - 1) { a /= 1024; i++; }
    return (v < 0 ? '-' : '') + (i === 0 ? String(Math.round(a)) : a.toFixed(a < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtValue(v) { return BYTES ? fmtBytes(v) : fmtCount(v) + (Math.abs(v) === 1 ? ' sample' : ' samples'); }
  function fmtShort(v) { return BYTES ? fmtBytes(v) : fmtCount(v); }
  function fmtPct(v, of) { return of > 0 ? (100 * v / of).toFixed(2) + '%' : '0.00%'; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* ---- trees ---- */
  /* A tree over functions: parent/func arrays where a child's index is
   * always above its parent's, children sorted by name for a stable layout. */
  function makeTree(parent, func, n) {
    var depth = new Int32Array(n), count = new Int32Array(n + 1);
    for (var i = 1; i < n; i++) { depth[i] = depth[parent[i]] + 1; count[parent[i] + 1]++; }
    for (i = 0; i < n; i++) count[i + 1] += count[i];
    var childStart = count.slice(0), fill = count.slice(0), childList = new Int32Array(Math.max(n - 1, 0));
    for (i = 1; i < n; i++) childList[fill[parent[i]]++] = i;
    for (i = 0; i < n; i++) {
      var a = childStart[i], b = childStart[i + 1];
      if (b - a > 1) {
        var kids = Array.prototype.slice.call(childList.subarray(a, b));
        kids.sort(function (x, y) {
          var nx = fName[func[x]], ny = fName[func[y]];
          return nx < ny ? -1 : nx > ny ? 1 : func[x] - func[y];
        });
        childList.set(kids, a);
      }
    }
    return {n: n, parent: parent, func: func, depth: depth, childStart: childStart, childList: childList,
            self: new Float64Array(n), total: new Float64Array(n), maxDepth: 0};
  }
  function setTotals(t) {
    var total = t.total, parent = t.parent;
    total.set(t.self);
    for (var i = t.n - 1; i > 0; i--) total[parent[i]] += total[i];
    var md = 0;
    for (i = 0; i < t.n; i++) if (total[i] !== 0 && t.depth[i] > md) md = t.depth[i];
    t.maxDepth = md;
  }

  /* The top-down call tree: built once; values change with the thread. */
  var stackToTop = new Int32Array(nStack);
  var topTree = (function () {
    var parent = [-1], func = [-1], index = new Map(), stride = nFunc + 1;
    for (var s = 0; s < nStack; s++) {
      var p = sParent[s] < 0 ? 0 : stackToTop[sParent[s]];
      var key = p * stride + sFunc[s], id = index.get(key);
      if (id === undefined) { id = parent.length; parent.push(p); func.push(sFunc[s]); index.set(key, id); }
      stackToTop[s] = id;
    }
    return makeTree(Int32Array.from(parent), Int32Array.from(func), parent.length);
  })();

  /* Per selection (a thread index, or -1 for all): leaf weight and total
   * weight of each stack node. */
  var selCache = new Map();
  function selection(thread) {
    var c = selCache.get(thread);
    if (c) return c;
    var self = new Float64Array(nStack), total;
    threads.forEach(function (t, i) {
      if (thread !== -1 && thread !== i) return;
      for (var k = 0; k < t.nodes.length; k++) self[t.nodes[k]] += t.w[k];
    });
    total = self.slice(0);
    for (var s = nStack - 1; s >= 0; s--) if (sParent[s] >= 0) total[sParent[s]] += total[s];
    c = {self: self, total: total, inverted: null};
    selCache.set(thread, c);
    return c;
  }

  /* The inverted tree: each sample's stack read from its leaf to its root,
   * so the first row holds the functions that ran and the rows above them
   * who called them. */
  function invertedTree(sel) {
    if (sel.inverted) return sel.inverted;
    var parent = [-1], func = [-1], index = new Map(), stride = nFunc + 1, ends = [];
    for (var s = 0; s < nStack; s++) {
      var w = sel.self[s];
      if (w === 0) continue;
      var node = 0;
      for (var x = s; x >= 0; x = sParent[x]) {
        var key = node * stride + sFunc[x], id = index.get(key);
        if (id === undefined) { id = parent.length; parent.push(node); func.push(sFunc[x]); index.set(key, id); }
        node = id;
      }
      ends.push(node, w);
    }
    var t = makeTree(Int32Array.from(parent), Int32Array.from(func), parent.length);
    for (var k = 0; k < ends.length; k += 2) t.self[ends[k]] += ends[k + 1];
    setTotals(t);
    sel.inverted = t;
    return t;
  }

  /* Self and total per function; total counts a sample once even when the
   * function recurses (only its outermost frames are summed). */
  function functionStats(t) {
    var self = new Float64Array(nFunc), total = new Float64Array(nFunc), onPath = new Int32Array(nFunc);
    var stack = [0], exit = [];
    while (stack.length) {
      var n = stack.pop();
      if (n < 0) { onPath[t.func[~n]]--; continue; }
      var fn = t.func[n];
      if (fn >= 0) {
        self[fn] += t.self[n];
        if (onPath[fn] === 0) total[fn] += t.total[n];
        onPath[fn]++;
        stack.push(~n);
      }
      for (var c = t.childStart[n]; c < t.childStart[n + 1]; c++) {
        var child = t.childList[c];
        if (t.total[child] !== 0) stack.push(child);
      }
    }
    return {self: self, total: total};
  }

  /* ---- state ---- */
  var st = {
    thread: -1, view: 'top', orient: 'flame', zoom: 0, selectedFunc: -1,
    match: null, matchValue: 0, searchError: false,
    sortKey: 'total', sortDesc: true
  };
  var tree = null, sel = null, stats = null;

  function rootTotal() { return tree ? tree.total[0] : 0; }

  function recompute() {
    sel = selection(st.thread);
    if (st.view === 'inverted') {
      tree = invertedTree(sel);
    } else {
      tree = topTree;
      tree.self.fill(0);
      for (var s = 0; s < nStack; s++) tree.self[stackToTop[s]] += sel.self[s];
      setTotals(tree);
    }
    stats = functionStats(topTreeFor(sel));
    st.zoom = 0;
  }
  /* The table always describes the top-down tree of the current thread. */
  function topTreeFor(sel) {
    if (tree === topTree) return topTree;
    var t = topTree;
    t.self.fill(0);
    for (var s = 0; s < nStack; s++) t.self[stackToTop[s]] += sel.self[s];
    setTotals(t);
    return t;
  }

  /* ---- canvas ---- */
  var scroller = document.getElementById('flame-scroll');
  var canvas = document.getElementById('flame');
  var spacer = document.getElementById('flame-spacer');
  var ctx = canvas.getContext('2d');
  var hit = {x: [], y: [], w: [], node: []};
  var charWidth = 7;
  var drawPending = false;

  function rows() { return tree.maxDepth + 1; }
  function contentHeight() { return rows() * ROW; }
  function rowTop(row) {
    return st.orient === 'icicle' ? row * ROW : Math.max(contentHeight(), canvas.clientHeight) - (row + 1) * ROW;
  }

  /* Colours depend only on the function (a hash of its name, so a function
   * keeps its colour across views); computed once, not per frame. */
  var baseColor = new Array(nFunc), dimColor = new Array(nFunc);
  var MATCH_COLOR = 'hsl(292, 70%, 58%)', MATCH_DIM = 'hsla(292, 70%, 58%, 0.45)';
  for (var fc = 0; fc < nFunc; fc++) {
    var cname = fName[fc], h = 0;
    for (var ci = 0; ci < cname.length; ci++) h = (h * 31 + cname.charCodeAt(ci)) | 0;
    var r = ((h >>> 0) % 1000) / 1000, hue, sat, light;
    if (fKind[fc] === 1) { hue = 190 + 30 * r; sat = 55; light = 62 + 10 * r; }
    else if (fKind[fc] === 2) { hue = 0; sat = 0; light = 70 + 10 * r; }
    else { hue = 12 + 38 * r; sat = 88; light = 55 + 12 * r; }
    baseColor[fc] = 'hsl(' + hue.toFixed(1) + ', ' + sat + '%, ' + light.toFixed(1) + '%)';
    dimColor[fc] = 'hsla(' + hue.toFixed(1) + ', ' + sat + '%, ' + light.toFixed(1) + '%, 0.45)';
  }
  function colorFor(fn, dim) {
    if (st.match && st.match[fn]) return dim ? MATCH_DIM : MATCH_COLOR;
    return dim ? dimColor[fn] : baseColor[fn];
  }

  function label(n) {
    if (n === 0) {
      if (st.thread === -1) return threads.length > 1 ? 'all threads' : 'all';
      var t = threads[st.thread];
      return 'thread ' + (t.name ? t.name + ' ' : '') + t.id;
    }
    return fName[tree.func[n]];
  }

  function draw() {
    drawPending = false;
    var dpr = window.devicePixelRatio || 1;
    var W = canvas.clientWidth, H = canvas.clientHeight;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = '12px ui-monospace, Menlo, Consolas, monospace';
    ctx.textBaseline = 'middle';
    charWidth = ctx.measureText('abcdefghijklmnopqrstuvwxyz').width / 26 || 7;
    hit = {x: [], y: [], w: [], node: []};
    var scrollTop = scroller.scrollTop;
    var t = tree, z = st.zoom, total = t.total[z];
    if (!(total > 0)) {
      ctx.fillStyle = '#777';
      ctx.fillText('No samples in this selection.', 10, 20);
      return;
    }
    /* ancestors of the zoomed frame span the whole width, dimmed */
    var chain = [];
    for (var a = t.parent[z]; a >= 0; a = t.parent[a]) chain.push(a);
    for (var i = chain.length - 1; i >= 0; i--) frame(chain[i], 0, W, true);
    var scale = W / total;
    var stack = [z], xs = [0];
    while (stack.length) {
      var n = stack.pop(), x = xs.pop(), w = t.total[n] * scale;
      var y = rowTop(t.depth[n]) - scrollTop;
      frame(n, x, w, false, y);
      if (st.orient === 'icicle' ? y > H : y + ROW < 0) continue; /* deeper rows are off screen */
      var cx = x;
      for (var c = t.childStart[n]; c < t.childStart[n + 1]; c++) {
        var child = t.childList[c], cw = t.total[child] * scale;
        if (cw >= MIN_WIDTH) { stack.push(child); xs.push(cx); }
        cx += cw;
      }
    }
    function frame(n, x, w, dim, y) {
      if (y === undefined) y = rowTop(t.depth[n]) - scrollTop;
      if (y + ROW < 0 || y > H) return;
      var fn = t.func[n];
      ctx.fillStyle = n === 0 ? (dim ? 'rgba(190,190,200,0.5)' : '#c8c8d2') : colorFor(fn, dim);
      ctx.fillRect(x, y, Math.max(w - 1, 0.5), ROW - 1);
      if (fn >= 0 && fn === st.selectedFunc) {
        ctx.strokeStyle = '#1d1d1f';
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x + 0.75, y + 0.75, Math.max(w - 2.5, 0.5), ROW - 2.5);
      }
      hit.x.push(x); hit.y.push(y); hit.w.push(w); hit.node.push(n);
      if (w > 3 * charWidth + 6) {
        var text = label(n), max = Math.floor((w - 6) / charWidth);
        if (text.length > max) text = text.slice(0, Math.max(max - 1, 1)) + '\u2026';
        ctx.fillStyle = dim ? '#555' : '#111';
        ctx.fillText(text, x + 3, y + ROW / 2);
      }
    }
  }
  function scheduleDraw() {
    if (!drawPending) { drawPending = true; requestAnimationFrame(draw); }
  }
  function layout(keepScroll) {
    /* a shallow tree gets a short box; a deep one scrolls inside 62% of the window */
    var box = Math.max(Math.min(Math.round(window.innerHeight * 0.62), contentHeight() + 2), 8 * ROW);
    scroller.style.height = box + 'px';
    var ch = Math.max(canvas.clientHeight, 1);
    spacer.style.height = Math.max(contentHeight() - ch, 0) + 'px';
    if (!keepScroll) scroller.scrollTop = st.orient === 'flame' ? scroller.scrollHeight : 0;
    draw();
  }

  function nodeAt(cx, cy) {
    for (var i = hit.node.length - 1; i >= 0; i--) {
      if (cx >= hit.x[i] && cx < hit.x[i] + Math.max(hit.w[i], 1) && cy >= hit.y[i] && cy < hit.y[i] + ROW)
        return hit.node[i];
    }
    return -1;
  }

  /* ---- tooltip ---- */
  var tooltip = document.getElementById('tooltip');
  function showTooltip(n, ev) {
    tooltip.textContent = '';
    var fn = tree.func[n], all = rootTotal();
    tooltip.appendChild(el('div', 'tt-name', label(n)));
    if (fn >= 0) {
      var where = fFile[fn] ? fFile[fn] + (fLine[fn] > 0 ? ':' + fLine[fn] : '') : (fKind[fn] === 1 ? 'native code' : '');
      if (where) tooltip.appendChild(el('div', 'tt-file', where));
    }
    tooltip.appendChild(el('div', 'tt-total', 'Total: ' + fmtValue(tree.total[n]) + ' (' + fmtPct(tree.total[n], all) + ')'));
    tooltip.appendChild(el('div', 'tt-self', 'Self: ' + fmtValue(tree.self[n]) + ' (' + fmtPct(tree.self[n], all) + ')'));
    if (st.view === 'inverted' && n !== 0)
      tooltip.appendChild(el('div', 'tt-file', 'Inverted: samples whose stack ends (leaf first) with this call path'));
    tooltip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14, r = tooltip.getBoundingClientRect();
    if (x + r.width > window.innerWidth) x = Math.max(0, ev.clientX - r.width - 10);
    if (y + r.height > window.innerHeight) y = Math.max(0, ev.clientY - r.height - 10);
    tooltip.style.left = x + 'px';
    tooltip.style.top = y + 'px';
  }
  canvas.addEventListener('mousemove', function (ev) {
    var r = canvas.getBoundingClientRect(), n = nodeAt(ev.clientX - r.left, ev.clientY - r.top);
    if (n < 0) tooltip.hidden = true; else showTooltip(n, ev);
  });
  canvas.addEventListener('mouseleave', function () { tooltip.hidden = true; });
  canvas.addEventListener('click', function (ev) {
    var r = canvas.getBoundingClientRect(), n = nodeAt(ev.clientX - r.left, ev.clientY - r.top);
    if (n < 0) return;
    zoomTo(n);
    if (tree.func[n] >= 0) selectFunction(tree.func[n], false);
  });
  scroller.addEventListener('scroll', scheduleDraw);
  window.addEventListener('resize', function () { layout(true); });

  /* ---- zoom and status ---- */
  var statusEl = document.getElementById('status');
  function zoomTo(n) {
    st.zoom = n;
    updateStatus();
    ensureVisible(n);
    draw();
  }
  /* Scrolls the frame's row into view (a table click may zoom off screen). */
  function ensureVisible(n) {
    var y = rowTop(tree.depth[n]), h = scroller.clientHeight;
    if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + h)
      scroller.scrollTop = Math.max(0, y - Math.round(h / 2));
  }
  function updateStatus() {
    var z = st.zoom, all = rootTotal();
    statusEl.textContent = z === 0
      ? 'Whole profile: ' + fmtValue(all) + '. Click a frame to zoom, Esc to reset, / to search.'
      : 'Zoomed into ' + label(z) + ': ' + fmtValue(tree.total[z]) + ' (' + fmtPct(tree.total[z], all) + ')';
  }
  function reset() {
    st.zoom = 0;
    st.selectedFunc = -1;
    tooltip.hidden = true;
    updateStatus();
    renderTable();
    renderLines();
    layout(false);
  }
  document.getElementById('reset').addEventListener('click', reset);

  /* ---- search ---- */
  var searchEl = document.getElementById('search'), regexEl = document.getElementById('regex');
  var searchInfo = document.getElementById('search-info');
  function applySearch() {
    var q = searchEl.value, test = null;
    st.searchError = false;
    if (q) {
      if (regexEl.checked) {
        try { var re = new RegExp(q, 'i'); test = function (s) { return re.test(s); }; }
        catch (e) { st.searchError = true; }
      } else {
        var lower = q.toLowerCase();
        test = function (s) { return s.toLowerCase().indexOf(lower) !== -1; };
      }
    }
    searchEl.classList.toggle('invalid', st.searchError);
    if (!test) {
      st.match = null;
      st.matchValue = 0;
      searchInfo.textContent = st.searchError ? 'invalid regular expression' : '';
    } else {
      st.match = new Uint8Array(nFunc);
      for (var f = 0; f < nFunc; f++) if (test(fName[f])) st.match[f] = 1;
      st.matchValue = matchedValue(tree);
      var all = rootTotal();
      searchInfo.textContent = 'Matched: ' + fmtPct(st.matchValue, all) + ' (' + fmtShort(st.matchValue) + ' of ' +
        fmtShort(all) + (BYTES ? ')' : ' samples)');
    }
    renderTable();
    draw();
  }
  /* Weight of samples with a matching function anywhere on their stack:
   * the totals of matching frames that have no matching ancestor. */
  function matchedValue(t) {
    var sum = 0, stack = [0];
    while (stack.length) {
      var n = stack.pop();
      if (n !== 0 && st.match[t.func[n]]) { sum += t.total[n]; continue; }
      for (var c = t.childStart[n]; c < t.childStart[n + 1]; c++)
        if (t.total[t.childList[c]] !== 0) stack.push(t.childList[c]);
    }
    return sum;
  }
  searchEl.addEventListener('input', applySearch);
  regexEl.addEventListener('change', applySearch);

  /* ---- function table ---- */
  var tbody = document.querySelector('#functions tbody');
  var tableNote = document.getElementById('table-note');
  function renderTable() {
    var all = rootTotal(), ids = [];
    for (var f = 0; f < nFunc; f++) {
      if (stats.total[f] === 0 && stats.self[f] === 0) continue;
      if (st.match && !st.match[f]) continue;
      ids.push(f);
    }
    var key = st.sortKey, dir = st.sortDesc ? -1 : 1;
    ids.sort(function (a, b) {
      var va, vb;
      if (key === 'name') { va = fName[a]; vb = fName[b]; }
      else if (key === 'file') { va = fFile[a]; vb = fFile[b]; }
      else if (key === 'self' || key === 'selfPct') { va = stats.self[a]; vb = stats.self[b]; }
      else { va = stats.total[a]; vb = stats.total[b]; }
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return fName[a] < fName[b] ? -1 : fName[a] > fName[b] ? 1 : a - b;
    });
    tbody.textContent = '';
    var frag = document.createDocumentFragment();
    ids.slice(0, TABLE_ROWS).forEach(function (f) {
      var tr = el('tr');
      tr.dataset.func = String(f);
      if (f === st.selectedFunc) tr.className = 'selected';
      if (st.match && st.match[f]) tr.classList.add('match');
      tr.appendChild(el('td', 'name', fName[f]));
      tr.appendChild(el('td', 'file', fFile[f] ? fFile[f] + (fLine[f] > 0 ? ':' + fLine[f] : '') : ''));
      tr.appendChild(el('td', 'num', fmtShort(stats.self[f])));
      tr.appendChild(el('td', 'num', fmtPct(stats.self[f], all)));
      tr.appendChild(el('td', 'num', fmtShort(stats.total[f])));
      tr.appendChild(el('td', 'num', fmtPct(stats.total[f], all)));
      frag.appendChild(tr);
    });
    tbody.appendChild(frag);
    tableNote.textContent = ids.length > TABLE_ROWS ? '(top ' + TABLE_ROWS + ' of ' + ids.length + ')' :
      '(' + ids.length + ')';
    document.querySelectorAll('#functions th').forEach(function (th) {
      th.classList.remove('sorted-asc', 'sorted-desc');
      if (th.dataset.key === st.sortKey) th.classList.add(st.sortDesc ? 'sorted-desc' : 'sorted-asc');
    });
  }
  document.querySelector('#functions thead').addEventListener('click', function (ev) {
    var th = ev.target.closest('th');
    if (!th) return;
    var key = th.dataset.key;
    if (st.sortKey === key) st.sortDesc = !st.sortDesc;
    else { st.sortKey = key; st.sortDesc = key !== 'name' && key !== 'file'; }
    renderTable();
  });
  tbody.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr');
    if (tr) selectFunction(Number(tr.dataset.func), true);
  });

  /* Highlights a function's frames and shows its lines; with zoom, zooms to
   * its heaviest frame in the current view. */
  function selectFunction(fn, zoom) {
    st.selectedFunc = fn;
    if (zoom) {
      var best = -1;
      for (var n = 1; n < tree.n; n++)
        if (tree.func[n] === fn && (best < 0 || tree.total[n] > tree.total[best])) best = n;
      if (best > 0) st.zoom = best;
      updateStatus();
      ensureVisible(st.zoom);
    }
    renderTable();
    renderLines();
    draw();
  }

  /* ---- lines panel (profiles recorded with lines) ---- */
  var linesPanel = document.getElementById('lines-panel');
  var linesBody = document.querySelector('#lines tbody');
  function renderLines() {
    linesPanel.hidden = !hasLines;
    if (!hasLines) return;
    var fn = st.selectedFunc;
    document.getElementById('lines-empty').hidden = fn >= 0;
    document.getElementById('lines').hidden = fn < 0;
    linesBody.textContent = '';
    if (fn < 0) { document.getElementById('lines-title').textContent = 'Lines'; return; }
    document.getElementById('lines-title').textContent = 'Lines of ' + fName[fn] + (fFile[fn] ? ' (' + fFile[fn] + ')' : '');
    var byLine = new Map(), most = 0;
    for (var s = 0; s < nStack; s++) {
      if (sFunc[s] !== fn || sel.total[s] === 0) continue;
      var e = byLine.get(sLine[s]);
      if (!e) { e = {self: 0, total: 0}; byLine.set(sLine[s], e); }
      e.self += sel.self[s];
      e.total += sel.total[s];
    }
    var lines = Array.from(byLine.keys()).sort(function (a, b) { return a - b; });
    lines.forEach(function (l) { most = Math.max(most, byLine.get(l).total); });
    lines.forEach(function (l) {
      var e = byLine.get(l), tr = el('tr');
      if (e.total === most) tr.className = 'hot';
      tr.appendChild(el('td', 'num', l > 0 ? String(l) : '?'));
      tr.appendChild(el('td', 'num', fmtShort(e.self)));
      tr.appendChild(el('td', 'num', fmtShort(e.total)));
      var td = el('td'), bar = el('span', 'bar');
      bar.style.width = Math.max(1, Math.round(120 * e.total / (most || 1))) + 'px';
      td.appendChild(bar);
      tr.appendChild(td);
      linesBody.appendChild(tr);
    });
  }

  /* ---- memory timeline ---- */
  function drawTimeline() {
    var tl = D.timeline;
    if (!tl || tl.length < 3) return;
    document.getElementById('timeline-section').hidden = false;
    var c = document.getElementById('timeline'), g = c.getContext('2d');
    var dpr = window.devicePixelRatio || 1, W = c.clientWidth, H = c.clientHeight;
    c.width = Math.round(W * dpr);
    c.height = Math.round(H * dpr);
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    var n = tl.length / 3, t0 = tl[0], t1 = tl[3 * (n - 1)], top = 1, peakHeap = -1, peakRss = -1;
    for (var i = 0; i < n; i++) {
      top = Math.max(top, tl[3 * i + 1], tl[3 * i + 2]);
      peakRss = Math.max(peakRss, tl[3 * i + 1]);
      peakHeap = Math.max(peakHeap, tl[3 * i + 2]);
    }
    var L = 70, R = 10, T = 8, B = 20, span = Math.max(t1 - t0, 1);
    g.strokeStyle = '#ccc';
    g.beginPath(); g.moveTo(L, T); g.lineTo(L, H - B); g.lineTo(W - R, H - B); g.stroke();
    g.fillStyle = '#555';
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    g.fillText(fmtBytes(top), 4, T + 4);
    g.fillText('0', L - 14, H - B);
    g.fillText('0 s', L, H - 8);
    var end = (span / 1e6).toFixed(2) + ' s';
    g.fillText(end, W - R - g.measureText(end).width, H - 8);
    function series(col, color) {
      g.strokeStyle = color;
      g.lineWidth = 1.5;
      g.beginPath();
      var started = false;
      for (var i = 0; i < n; i++) {
        var v = tl[3 * i + col];
        if (v < 0) continue;
        var x = L + (W - L - R) * (tl[3 * i] - t0) / span, y = H - B - (H - B - T) * v / top;
        if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
      }
      g.stroke();
    }
    series(1, '#1f6fd1');
    series(2, '#d9730d');
    var legend = document.getElementById('timeline-legend');
    legend.textContent = '';
    if (peakRss >= 0) { legend.appendChild(el('span', 'rss', 'RSS')); legend.appendChild(document.createTextNode(' peak ' + fmtBytes(peakRss) + '   ')); }
    if (peakHeap >= 0) { legend.appendChild(el('span', 'heap', 'tracked heap')); legend.appendChild(document.createTextNode(' peak ' + fmtBytes(peakHeap))); }
  }

  /* ---- header and controls ---- */
  function initHeader() {
    document.getElementById('title').textContent = TITLE;
    var parts = [fmtValue(D.total)];
    if (BYTES || D.sample_count !== D.total) parts.push(fmtCount(D.sample_count) + ' records');
    if (D.period_us > 0) parts.push('period ' + D.period_us + ' \u00b5s');
    if (D.end_time_us > D.start_time_us && D.start_time_us > 0)
      parts.push(((D.end_time_us - D.start_time_us) / 1e6).toFixed(2) + ' s');
    parts.push(threads.length + (threads.length === 1 ? ' thread' : ' threads'));
    if (D.interpreter) parts.push(D.interpreter);
    if (hasLines) parts.push('with lines');
    document.getElementById('summary').textContent = parts.join(' \u00b7 ');
    var warn = D.warning || (D.dropped > 0 ? D.dropped + ' samples were dropped while recording' : '');
    if (warn) { var w = document.getElementById('warning'); w.textContent = warn; w.hidden = false; }
    var select = document.getElementById('thread');
    var all = new Option('All threads (merged): ' + fmtShort(D.total), '-1');
    select.add(all);
    threads.forEach(function (t, i) {
      select.add(new Option((t.name ? t.name + ' ' : 'thread ') + t.id + ': ' + fmtShort(t.total), String(i)));
    });
    select.disabled = threads.length < 2;
    select.addEventListener('change', function () {
      st.thread = Number(select.value);
      refresh();
    });
    document.getElementById('view').addEventListener('change', function (ev) {
      st.view = ev.target.value;
      refresh();
    });
    var orient = document.getElementById('orient');
    orient.value = st.orient;
    orient.addEventListener('change', function (ev) {
      st.orient = ev.target.value;
      layout(false);
    });
  }

  function refresh() {
    recompute();
    tooltip.hidden = true;
    updateStatus();
    applySearch();  /* re-derives the share and redraws the table */
    renderLines();
    layout(false);
  }

  document.addEventListener('keydown', function (ev) {
    var inField = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
    if (ev.key === '/' && !inField) {
      ev.preventDefault();
      searchEl.focus();
      searchEl.select();
    } else if (ev.key === 'Escape') {
      if (ev.target === searchEl) searchEl.blur();
      reset();
    }
  });

  /* For tests and the curious: read-only facts about what is shown. */
  window.pyrometerViewer = {
    state: function () {
      return {
        zoom: label(st.zoom), zoomTotal: tree.total[st.zoom], rootTotal: rootTotal(),
        thread: st.thread, view: st.view, orient: st.orient, matchValue: st.matchValue,
        selected: st.selectedFunc >= 0 ? fName[st.selectedFunc] : null, hasLines: hasLines,
        nodes: tree.n, stackNodes: nStack
      };
    },
    redraw: function () { draw(); },
    /* Centre (client coordinates) of the widest drawn frame of a function. */
    frameCenter: function (name) {
      var best = -1, r = canvas.getBoundingClientRect();
      for (var i = 0; i < hit.node.length; i++) {
        var n = hit.node[i];
        if (n !== 0 && fName[tree.func[n]] === name && hit.y[i] >= 0 && hit.y[i] + ROW <= canvas.clientHeight &&
            (best < 0 || hit.w[i] > hit.w[best])) best = i;
      }
      if (best < 0) return null;
      return {x: r.left + hit.x[best] + Math.min(hit.w[best], 40) / 2, y: r.top + hit.y[best] + ROW / 2,
              width: hit.w[best]};
    }
  };

  initHeader();
  recompute();
  updateStatus();
  applySearch();
  renderLines();
  layout(false);
  drawTimeline();
  window.addEventListener('resize', drawTimeline);
  window.pyrometerViewer.readyMs = performance.now();
  document.documentElement.dataset.ready = '1';
})();
