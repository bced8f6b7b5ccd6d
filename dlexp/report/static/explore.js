/* dlexp report: the explorable view of index.html, drawn from data.js (window.DLEXP_DATA,
   explore.page_data) with Plotly. A summary is in the page already; this draws, per
   search, a parallel-coordinates view (brush an axis to select trials) and a scatter of
   the objective against a chosen parameter, linked to one table (sort by a header, filter
   by typing, limited to the brushed trials). Clicking a row loads detail/<name>.js
   (window.dlexpDetail) and shows its curves, config, command and pictures.
   window.dlexpExplore.update(data) redraws with new data, keeping the sort, filter,
   brushes and open detail (dlexp serve's live.js). */
(function () {
  "use strict";
  var LIMIT = 300; // rows drawn at first (all: "show all")
  var state = {sort: null, dir: 1, filter: "", brush: {}, open: null, all: false, x: {}};
  var D, rows, details = {}, loading = {};

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toPrecision(4);
  }
  function cell(r, c) {
    if (c === "id" || c === "status" || c === "search") return r[c] === null ? "" : r[c];
    if (c in r.values) return r.values[c];
    return r.metrics[c];
  }
  function numeric(labels) {
    return labels.length > 0 && labels.every(function (s) {
      return s !== "" && s !== null && isFinite(Number(s));
    });
  }

  function prepare() {
    rows = D.rows.map(function (r, i) {
      var cells = D.columns.map(function (c) { return cell(r, c); });
      return {r: r, i: i, cells: cells,
              text: cells.map(fmt).join(" ").toLowerCase() + " " + (r.best ? "best" : "")};
    });
  }

  // --- which rows the brushes select: {id: true} or null when nothing is brushed ------
  function selected() {
    var any = false, out = {};
    D.searches.forEach(function (s) {
      var b = state.brush[s.name];
      if (!b || !Object.keys(b).length) return;
      any = true;
      (views[s.name] ? views[s.name].points : []).forEach(function (p) {
        var ok = Object.keys(b).every(function (label) {
          var ranges = b[label], v = p.dims[label];
          if (!Array.isArray(ranges[0])) ranges = [ranges];
          return ranges.some(function (rg) { return v >= rg[0] && v <= rg[1]; });
        });
        if (ok) out[p.id] = true;
      });
    });
    return any ? out : null;
  }

  function shownRows() {
    var sel = selected(), f = state.filter.trim().toLowerCase();
    var words = f ? f.split(/\s+/) : [];
    var out = rows.filter(function (x) {
      if (sel && !sel[x.r.id]) return false;
      return words.every(function (w) { return x.text.indexOf(w) >= 0; });
    });
    if (state.sort !== null) {
      var k = state.sort, dir = state.dir;
      out.sort(function (a, b) {
        var u = a.cells[k], v = b.cells[k];
        var nu = u === "" || u === undefined || u === null, nv = v === "" || v === undefined || v === null;
        if (nu || nv) return nu === nv ? a.i - b.i : nu ? 1 : -1; // blanks last
        var fu = Number(u), fv = Number(v);
        var c = isFinite(fu) && isFinite(fv) ? fu - fv : String(u).localeCompare(String(v));
        return c ? c * dir : a.i - b.i;
      });
    }
    return out;
  }

  function drawHead() {
    $("table").tHead.innerHTML = "<tr>" + D.columns.map(function (c, k) {
      var cls = (k < 3 || !(D.metrics.indexOf(c) >= 0) ? "l" : "") +
        (state.sort === k ? (state.dir > 0 ? " asc" : " desc") : "");
      return "<th data-k='" + k + "' class='" + cls + "' title='sort by " + esc(c) + "'>" + esc(c) + "</th>";
    }).join("") + "</tr>";
  }

  function drawTable() {
    var shown = shownRows(), n = state.all ? shown.length : Math.min(shown.length, LIMIT);
    var html = [];
    for (var j = 0; j < n; j++) {
      var x = shown[j], r = x.r, tds = [];
      for (var k = 0; k < x.cells.length; k++) {
        var c = D.columns[k], v = fmt(x.cells[k]);
        if (c === "id") v = esc(v) + (r.best ? " ★" : r.within_noise ? " ≈" : "");
        else if (c === "status") v = "<span class='status-" + esc(String(v).replace(/[^a-z]/gi, "").toLowerCase()) + "'>" + esc(v) +
          (r.status === "running" && r.epoch ? " (epoch " + r.epoch + ")" : "") + "</span>";
        else v = esc(v);
        tds.push("<td class='" + (D.metrics.indexOf(c) >= 0 ? "" : "l") + "'>" + v + "</td>");
      }
      html.push("<tr data-id='" + esc(r.id) + "' class='" + (r.best ? "best" : "") +
                (state.open === r.id ? " open" : "") + "'>" + tds.join("") + "</tr>");
    }
    $("table").tBodies[0].innerHTML = html.join("");
    $("count").textContent = (n < shown.length ? n + " drawn, " : "") + shown.length + " of " + rows.length + " shown";
    $("more").hidden = n >= shown.length;
    shadeScatters(shown);
  }

  // --- per search: parallel coordinates and a scatter ----------------------------------
  var views = {};
  function axis(labels) {
    if (numeric(labels)) return {values: labels.map(Number)};
    var names = Array.from(new Set(labels)).sort();
    return {values: labels.map(function (s) { return names.indexOf(s); }),
            tickvals: names.map(function (_, i) { return i; }), ticktext: names};
  }

  function drawViews() {
    var box = $("views");
    D.searches.forEach(function (s) {
      var mine = D.rows.filter(function (r) {
        return r.search === s.name && s.objective_key && r.metrics[s.objective_key] !== undefined;
      });
      if (!s.keys.length || !mine.length) return;
      var v = views[s.name];
      if (!v) {
        var div = document.createElement("div");
        div.className = "view";
        div.innerHTML = "<h3>" + esc(s.name) + ": " + mine.length + " scored trials <small>(drag along an axis to select; click a line's trial in the table)</small></h3>" +
          "<div class='pair'><div class='pc'></div><div class='sc'><label>" + esc(s.objective) +
          " against <select></select></label><div class='scplot'></div></div></div>";
        box.appendChild(div);
        v = views[s.name] = {div: div, pc: div.querySelector(".pc"), sc: div.querySelector(".scplot"),
                             select: div.querySelector("select")};
        v.select.innerHTML = s.keys.map(function (k) { return "<option>" + esc(k) + "</option>"; }).join("");
        v.select.value = state.x[s.name] || s.keys[0];
        v.select.addEventListener("change", function () { state.x[s.name] = v.select.value; drawScatter(s, v); drawTable(); });
      }
      var dims = s.keys.map(function (k) {
        return Object.assign({label: k}, axis(mine.map(function (r) { return r.values[k] === undefined ? "" : r.values[k]; })));
      });
      dims.push({label: s.objective, values: mine.map(function (r) { return r.metrics[s.objective_key]; })});
      var b = state.brush[s.name] || {};
      dims.forEach(function (d) { if (b[d.label]) d.constraintrange = b[d.label]; });
      v.points = mine.map(function (r, i) {
        var p = {id: r.id, dims: {}};
        dims.forEach(function (d) { p.dims[d.label] = d.values[i]; });
        return p;
      });
      v.mine = mine;
      Plotly.react(v.pc, [{type: "parcoords", dimensions: dims,
        line: {color: dims[dims.length - 1].values, colorscale: "Viridis", showscale: true,
               reversescale: s.direction === "min", colorbar: {title: {text: s.objective}}}}],
        {margin: {l: 70, r: 40, t: 50, b: 30}, height: 360}, {displaylogo: false, responsive: true});
      if (!v.hooked) {
        v.hooked = true;
        v.pc.on("plotly_restyle", function () {
          var out = {};
          (v.pc.data[0].dimensions || []).forEach(function (d) {
            var cr = d.constraintrange;
            if (cr && cr.length) out[d.label] = cr;
          });
          state.brush[s.name] = out;
          state.all = false;
          drawTable();
        });
      }
      drawScatter(s, v);
    });
  }

  function drawScatter(s, v) {
    var k = v.select.value;
    var xs = v.mine.map(function (r) { return r.values[k]; });
    var num = numeric(xs);
    Plotly.react(v.sc, [{type: "scatter", mode: "markers", x: num ? xs.map(Number) : xs,
      y: v.mine.map(function (r) { return r.metrics[s.objective_key]; }),
      customdata: v.mine.map(function (r) { return r.id; }),
      hovertemplate: "%{customdata}<br>" + k + " %{x}<br>" + s.objective + " %{y}<extra></extra>",
      marker: {size: 7, color: "#183d4e", opacity: 0.7}}],
      {margin: {l: 60, r: 10, t: 10, b: 50}, height: 330, xaxis: {title: {text: k}, type: num ? "linear" : "category"},
       yaxis: {title: {text: s.objective}}}, {displaylogo: false, responsive: true});
    if (!v.clicks) {
      v.clicks = true;
      v.sc.on("plotly_click", function (e) { if (e.points.length) open(e.points[0].customdata); });
    }
  }

  function shadeScatters(shown) {
    var ids = {};
    shown.forEach(function (x) { ids[x.r.id] = true; });
    Object.keys(views).forEach(function (name) {
      var v = views[name];
      if (!v.mine || !v.sc.data) return;
      Plotly.restyle(v.sc, {"marker.color": [v.mine.map(function (r) {
        return ids[r.id] ? (r.best ? "#f59322" : "#183d4e") : "#d0d4d6";
      })]});
    });
  }

  // --- a trial's detail, loaded when opened ---------------------------------------------
  window.dlexpDetail = function (d) {
    details[d.id] = d;
    if (state.open === d.id) drawDetail(d);
  };

  function open(id) {
    var r = D.rows.find(function (x) { return x.id === id; });
    if (!r) return;
    state.open = id;
    var box = $("detail");
    box.hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll("#table tr.open"), function (t) { t.classList.remove("open"); });
    if (details[id]) { drawDetail(details[id]); return; }
    box.innerHTML = "<h3>" + esc(id) + "</h3><p>loading…</p>";
    if (window.dlexpLoadDetail) { window.dlexpLoadDetail(r); return; } // dlexp serve
    if (loading[id]) return;
    loading[id] = true;
    var script = document.createElement("script");
    script.src = r.detail;
    script.onerror = function () { box.innerHTML = "<p class='warn'>⚠ " + esc(r.detail) + " could not be loaded</p>"; };
    document.head.appendChild(script);
  }

  function copy(text, button) {
    function done() { button.textContent = "copied"; setTimeout(function () { button.textContent = "copy"; }, 1500); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else fallback();
    function fallback() {
      var t = document.createElement("textarea");
      t.value = text; document.body.appendChild(t); t.select();
      try { document.execCommand("copy"); done(); } catch (e) { button.textContent = "select and copy"; }
      t.remove();
    }
  }

  function drawDetail(d) {
    var box = $("detail");
    var metrics = Object.keys(d.metrics).map(function (k) {
      return "<tr><td class='l'>" + esc(k) + "</td><td>" + esc(fmt(d.metrics[k])) +
        (d.std[k] !== undefined ? " ± " + esc(fmt(d.std[k])) : "") + "</td></tr>";
    }).join("");
    var pics = d.pictures.length ? "" :
      "<p class='note' id='nopics'>No pictures were drawn for this trial (only for runs and each search's best " +
      "trials). <code>dlexp serve</code> draws them when a trial is opened, or: <code>dlexp report --filter id=" +
      esc(d.id) + "</code></p>";
    box.innerHTML = "<h3>" + esc(d.id) + " <small class='status-" + esc(d.status.replace(/[^a-z]/gi, "").toLowerCase()) + "'>" +
      esc(d.status) + "</small>" + (d.best ? " ★ best" : "") + " <button type='button' id='close'>close</button></h3>" +
      (d.warnings || []).map(function (w) { return "<p class='warn'>⚠ " + esc(w) + "</p>"; }).join("") +
      (d.command ? "<div class='cmd'><code id='command'>" + esc(d.command) + "</code><button type='button' id='copy'>copy</button></div>" : "") +
      "<div class='curves' id='curves'></div><div id='pictures'></div>" + pics +
      "<div class='pair'><div><p class='sub'>metrics</p><table>" + metrics + "</table></div>" +
      "<div style='flex:1'><p class='sub'>config (" + esc(d.folder || "") + ")</p><pre id='config'>" + esc(d.config) + "</pre></div></div>";
    $("close").onclick = function () { state.open = null; box.hidden = true; drawTable(); };
    if (d.command) $("copy").onclick = function () { copy(d.command, $("copy")); };
    drawCurves(d.history);
    var holder = $("pictures");
    d.pictures.forEach(function (p) {
      if (!p.src) { holder.insertAdjacentHTML("beforeend", "<p class='warn'>⚠ " + esc(p.caption) + "</p>"); return; }
      var img = document.createElement("img");
      img.src = p.src; img.alt = p.alt; img.title = p.caption;
      holder.appendChild(img);
    });
    var tr = document.querySelector("#table tr[data-id='" + CSS.escape(d.id) + "']");
    if (tr) tr.classList.add("open");
    if (!box.dataset.scrolled) box.scrollIntoView({block: "nearest"});
  }

  function drawCurves(history) {
    var box = $("curves");
    if (!history || !history.length) { box.innerHTML = "<p class='note'>no history.csv: no curves</p>"; return; }
    var keys = Object.keys(history[0]).filter(function (k) { return ["epoch", "lr", "learning_rate", "seconds"].indexOf(k) < 0; });
    var bases = Array.from(new Set(keys.map(function (k) { return k.replace(/^val_/, ""); })));
    var x = history.map(function (h, i) { return h.epoch !== undefined ? h.epoch + 1 : i + 1; });
    bases.forEach(function (b) {
      var div = document.createElement("div");
      div.className = "curve";
      box.appendChild(div);
      var traces = [b, "val_" + b].filter(function (k) { return keys.indexOf(k) >= 0; }).map(function (k) {
        return {type: "scatter", mode: "lines", name: k.startsWith("val_") ? "validation" : "train", x: x,
                y: history.map(function (h) { return h[k]; })};
      });
      Plotly.newPlot(div, traces, {title: {text: b, font: {size: 13}}, margin: {l: 50, r: 10, t: 30, b: 35},
        height: 280, xaxis: {title: {text: "epoch"}}, legend: {orientation: "h"}}, {displaylogo: false});
    });
  }

  // --- wiring -----------------------------------------------------------------------------
  function render() {
    var t = window.dlexpTimes = {start: performance.now()};
    prepare();
    drawHead();
    t.prepared = performance.now();
    drawTable(); // the table first: it is usable while the charts are drawn
    t.table = performance.now();
    drawViews();
    t.views = performance.now();
    shadeScatters(shownRows());
    if (state.open && details[state.open]) drawDetail(details[state.open]);
  }

  function start() {
    D = window.DLEXP_DATA;
    if (!D) return;
    $("table").tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var k = Number(th.dataset.k);
      if (state.sort === k) state.dir = -state.dir; else { state.sort = k; state.dir = D.metrics.indexOf(D.columns[k]) >= 0 ? -1 : 1; }
      drawHead(); drawTable();
    });
    $("table").tBodies[0].addEventListener("click", function (e) {
      var tr = e.target.closest("tr");
      if (tr) open(tr.dataset.id);
    });
    var timer = null;
    $("filter").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.filter = $("filter").value; state.all = false; drawTable(); }, 80);
    });
    $("more").addEventListener("click", function () { state.all = true; drawTable(); });
    $("clear").addEventListener("click", function () {
      state.brush = {}; state.filter = ""; $("filter").value = "";
      Object.keys(views).forEach(function (n) {
        var dims = views[n].pc.data[0].dimensions;
        Plotly.restyle(views[n].pc, {dimensions: [dims.map(function (d) { var c = Object.assign({}, d); delete c.constraintrange; return c; })]});
      });
      state.brush = {};
      drawTable();
    });
    Array.prototype.forEach.call(document.querySelectorAll("a.open"), function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); open(a.dataset.id); });
    });
    render();
    window.dlexpReady = performance.now();
  }

  window.dlexpExplore = {
    update: function (data) { D = data; render(); },
    open: open,
    state: state,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
