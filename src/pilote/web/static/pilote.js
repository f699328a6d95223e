// Pilote's own script: no inline script anywhere (the Content-Security-Policy forbids it).
// Charts read their data from data-chart attributes; the time zone is remembered in a cookie.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Every form a page posts carries its session's anti-forgery token: htmx requests in a header, plain forms
  // in a hidden field added as they are sent (so that templates need not repeat it).
  var csrf = document.querySelector('meta[name="csrf-token"]');
  if (csrf) {
    document.addEventListener("htmx:configRequest", function (event) {
      event.detail.headers["X-CSRF-Token"] = csrf.content;
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") { return; }
      if (form.querySelector('input[name="csrf_token"]')) { return; }
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "csrf_token";
      field.value = csrf.content;
      form.appendChild(field);
    }, true);
  }

  // The reader's time zone, for dates rendered by the server.
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* keep UTC */ }
  if (document.documentElement.dataset.tz !== zone) {
    var first = document.cookie.indexOf("pilote_tz=") === -1;
    document.cookie = "pilote_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    // Dates on this page were written for another zone: show them again in the reader's, once.
    if (first && navigator.cookieEnabled) { window.location.reload(); return; }
  }

  var palette = ["#1f5f99", "#d9822b", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"];
  var tones = { positive: "#2e8b57", neutral: "#8a99a8", negative: "#c0392b", mixed: "#d9822b" };

  // Numbers on charts as the page's language writes them: ECharts writes 12,000 whatever the language.
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "en");
  function number(value) {
    return typeof value === "number" ? numbers.format(value) : (value === null || value === undefined ? "—" : value);
  }

  function option(spec) {
    if (spec.type === "pie") {
      return {
        color: spec.series[0].data.map(function (d, i) { return tones[d.key] || palette[i % palette.length]; }),
        tooltip: { trigger: "item", valueFormatter: number, formatter: pieTip },
        legend: { bottom: 0, type: "scroll" },
        series: [{ type: "pie", radius: ["38%", "68%"], data: spec.series[0].data, label: { show: false } }]
      };
    }
    return {
      color: spec.series.map(function (s, i) { return tones[s.key] || palette[i % palette.length]; }),
      tooltip: { trigger: "axis", valueFormatter: number, formatter: axisTip(spec, -1) },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 48, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: spec.x, boundaryGap: spec.type === "bar" },
      yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: number } },
      series: spec.series.map(function (s) {
        return {
          name: s.name, data: s.data, type: spec.type === "bar" ? "bar" : "line",
          stack: spec.stack && !s.dashed ? "total" : undefined,
          areaStyle: spec.stack && spec.type !== "bar" && !s.dashed ? {} : undefined,
          symbol: "none", smooth: false, lineStyle: s.dashed ? { type: "dashed" } : undefined
        };
      })
    };
  }

  // The bucket still running (today, this hour...) is shaded and named, its bars lighter, its points marked, and
  // its tooltip says up to when it counts (the previous period's dashed line is cut at the same time): no collapse.
  function partial(spec, shown) {
    var at = typeof spec.current === "number" ? spec.current : spec.x.length - 1;
    var from = spec.type === "bar" || at === 0 ? at : at - 1;
    shown.series[0].markArea = { silent: true, itemStyle: { color: "rgba(120, 130, 140, 0.10)" },
      label: { show: true, position: "insideTop", offset: [0, 14], color: "#5b6570", fontSize: 11 },
      data: [[{ name: spec.running, xAxis: spec.x[from] }, { xAxis: spec.x[at] }]] };
    shown.series.forEach(function (s) {
      s.data = s.data.map(function (v, i) {
        if (i !== at) { return v; }
        return spec.type === "bar" ? { value: v, itemStyle: { opacity: 0.45 } }
          : { value: v, symbol: "emptyCircle", symbolSize: 7 };
      });
    });
    if (spec.partial) { shown.tooltip.formatter = axisTip(spec, at); }
  }

  // Tooltips written without inline styles (the Content-Security-Policy refuses ECharts' own coloured markers):
  // each series' marker takes its colour from a class (pilote.css); the running bucket's says up to when it counts.
  function marker(spec, index) {
    var key = spec.series[index] ? spec.series[index].key : "";
    return '<span class="tip-marker tip-' + (tones[key] ? key : index % palette.length) + '"></span>';
  }

  function axisTip(spec, at) {
    return function (items) {
      items = Array.isArray(items) ? items : [items];
      var head = escaped(items.length ? items[0].axisValueLabel || "" : "");
      if (items.length && items[0].dataIndex === at && spec.partial) {
        head += '<br><i class="tip-partial">' + escaped(spec.partial) + "</i>";
      }
      return [head].concat(items.map(function (item) {
        var value = item.value !== null && typeof item.value === "object" ? item.value.value : item.value;
        return marker(spec, item.seriesIndex) + escaped(item.seriesName) + " <b>" + escaped(number(value)) + "</b>";
      })).join("<br>");
    };
  }

  function pieTip(item) {
    return '<span class="tip-marker tip-' + (tones[item.data.key] ? item.data.key : item.dataIndex % palette.length) +
      '"></span>' + escaped(item.name) + " <b>" + escaped(number(item.value)) + "</b> (" + item.percent + " %)";
  }

  function draw(root) {
    if (typeof window.echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var spec = JSON.parse(el.dataset.chart);
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var shown = option(spec);
      // Every chart can be saved as a PNG (ECharts' own toolbox; the button's words come from the page).
      shown.toolbox = { right: 8, top: 0, feature: { saveAsImage: {
        title: document.documentElement.dataset.png || "PNG", name: el.dataset.png || "pilote-chart",
        pixelRatio: 2, backgroundColor: "#fff" } } };
      if (spec.running && spec.x && spec.x.length > 1 && shown.series.length) { partial(spec, shown); }
      chart.setOption(shown);
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // The Members graph: places computed by the server (leaders/picture.py), drawn as they come. Names are the
  // members' own text: drawn on the canvas as text, and escaped in the tooltip (ECharts writes it as HTML).
  var LABELLED = 25;
  function escaped(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // The names written at first: the most influential whose label, at the first view's scale, covers no name
  // already written (ECharts' own hideOverlap leaves the graph's labels piled up) and no one more influential (a
  // label takes the mouse: written over a bigger person, it would answer for them); the others show on hover.
  function size(n, biggest) { return 5 + 25 * Math.sqrt(biggest ? n.influence / biggest : 0); }

  function labelled(nodes, el, biggest) {
    var scale = Math.min(el.clientWidth, el.clientHeight) / 1000, boxes = [], chosen = {};
    function apart(box, b) {
      return box.x > b.x + b.w || b.x > box.x + box.w || box.y > b.y + b.h || b.y > box.y + box.h;
    }
    for (var i = 0; i < nodes.length && boxes.length < LABELLED; i += 1) {
      var n = nodes[i], box = { x: n.x * scale + 8, y: n.y * scale - 8, w: 6.5 * String(n.name).length, h: 16 };
      var free = boxes.every(function (b) { return apart(box, b); });
      for (var j = 0; free && j < i; j += 1) {
        var r = size(nodes[j], biggest) / 2 + 2;
        free = apart(box, { x: nodes[j].x * scale - r, y: nodes[j].y * scale - r, w: 2 * r, h: 2 * r });
      }
      if (free) { boxes.push(box); chosen[i] = true; }
    }
    return chosen;
  }

  function tone(n) { return n.community < palette.length ? palette[n.community] : "#a9b4bf"; }

  function graphOption(picture, words, el) {
    var index = {}, biggest = 0;
    picture.nodes.forEach(function (n, i) { index[n.id] = i; biggest = Math.max(biggest, n.influence); });
    var named = labelled(picture.nodes, el, biggest);
    var many = picture.nodes.length > 300;
    var nodes = picture.nodes.map(function (n, i) {
      return {
        id: String(n.id), name: n.name, x: n.x, y: n.y, value: n.influence, person: n,
        symbol: n.team ? "diamond" : "circle",
        symbolSize: size(n, biggest),
        itemStyle: { color: tone(n) },
        label: { show: Boolean(named[i]) }
      };
    });
    var links = picture.edges.map(function (e) {
      return { source: index[e.source], target: index[e.target], value: e.weight,
               lineStyle: { width: Math.min(4, 0.5 + Math.log(e.weight)), color: tone(picture.nodes[index[e.source]]) } };
    });
    function tip(p) {
      if (p.dataType === "edge") {
        var from = picture.nodes[p.data.source], to = picture.nodes[p.data.target];
        return escaped(from.name) + " → " + escaped(to.name) + ": " + number(p.data.value) + " " + escaped(words.times);
      }
      var n = p.data.person;
      var lines = ["<strong>" + escaped(n.name) + "</strong>",
        escaped(words.influence) + ": " + number(n.influence),
        escaped(words.messages) + ": " + number(n.messages),
        escaped(words.community) + ": " + number(n.community + 1)];
      if (n.team) { lines.push(escaped(words.team)); }
      n.lists.forEach(function (name) { lines.push(escaped(words.lists[name] || name)); });
      return lines.join("<br>");
    }
    return {
      animation: !many,
      tooltip: { trigger: "item", confine: true, formatter: tip },
      toolbox: { right: 8, top: 4, feature: {
        restore: { title: words.reset },
        saveAsImage: { title: document.documentElement.dataset.png || "PNG", name: el.dataset.png || "pilote-graph",
                       pixelRatio: 2, backgroundColor: "#fff" } } },
      series: [{
        type: "graph", layout: "none", roam: true, draggable: false, scaleLimit: { min: 0.2, max: 40 },
        data: nodes, links: links, edgeSymbol: links.length <= 500 ? ["none", "arrow"] : ["none", "none"],
        edgeSymbolSize: 6, label: { position: "right", fontSize: 11, color: "#1d2733" },
        lineStyle: { opacity: many ? 0.18 : 0.4, curveness: 0 },
        emphasis: { focus: "adjacency", label: { show: true }, lineStyle: { opacity: 0.9 } }
      }]
    };
  }

  function graphs(root) {
    if (typeof window.echarts === "undefined") { return; }
    root.querySelectorAll("[data-graph]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      el.dataset.drawn = "loading";
      var words = JSON.parse(el.dataset.words);
      var message = el.parentNode.querySelector("[data-graph-message]");
      function say(text) {
        el.hidden = true;
        if (message) { message.textContent = text; message.hidden = false; }
      }
      fetch(el.dataset.graph, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (picture) {
          if (picture.pending) { say(words.pending); return; }
          if (!picture.nodes.length) { say(words.empty); return; }
          var chart = window.echarts.init(el, null, { renderer: "canvas" });
          chart.setOption(graphOption(picture, words, el));
          chart.on("click", function (p) {
            if (p.dataType === "node") { window.location.href = el.dataset.member + p.data.person.author_id; }
          });
          el.dataset.drawn = String(picture.nodes.length);
          window.addEventListener("resize", function () { chart.resize(); });
        })
        .catch(function () { say(words.failed); });
    });
  }

  function autosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
  }

  // A deletion's button waits until the name asked for is typed (the server checks it again).
  function confirmations(root) {
    root.querySelectorAll("input[data-confirm]").forEach(function (input) {
      var button = input.form.querySelector("button[type=submit]");
      function check() { button.disabled = input.value.trim() !== input.dataset.confirm.trim(); }
      input.addEventListener("input", check);
      check();
    });
  }

  // A link or token shown once: a button copies it (the field stays selectable where the clipboard is refused).
  function copies(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.copy);
        if (!field) { return; }
        field.select();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).catch(function () { /* the text stays selected */ });
        }
      });
    });
  }

  // The composer: a saved reply chosen in the list is added to the answer, at the cursor.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-snippet-for]") || !select.value) { return; }
    var area = document.getElementById(select.dataset.snippetFor);
    var text = select.selectedOptions[0].dataset.text || "";
    if (area) {
      var at = area.selectionStart || area.value.length;
      var before = area.value.slice(0, at), after = area.value.slice(at);
      var gap = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
      area.value = before + gap + text + after;
      area.focus();
    }
    select.value = "";
  });

  // "Copy and open": the answer goes to the clipboard; the link then opens the message on its platform.
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest("[data-copy-from]") : null;
    var area = trigger && document.getElementById(trigger.dataset.copyFrom);
    if (area && navigator.clipboard) { navigator.clipboard.writeText(area.value); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    graphs(document);
    autosubmit(document);
    confirmations(document);
    copies(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
