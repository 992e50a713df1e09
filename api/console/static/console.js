/* Console maps: our GeoJSON layers on a plain background (a tile layer only when the
   company set a tile URL). Data comes in <script type="application/json"> blocks the
   server rendered, so a map needs no extra request; htmx swaps refresh them. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function baseMap(container) {
    var map = L.map(container, { preferCanvas: false, zoomSnap: 0.5 });
    var tiles = container.dataset.tileUrl;
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: container.dataset.tileAttribution || "" }).addTo(map);
    }
    map.attributionControl.setPrefix("");
    return map;
  }

  // Tooltip content as DOM nodes (never HTML strings: names come from users).
  function tooltip(lines) {
    var box = el("div", "tip");
    lines.forEach(function (line, i) {
      if (line) box.appendChild(el(i === 0 ? "strong" : "div", null, line));
    });
    return box;
  }

  function visitLayer(fc, onClick) {
    return L.geoJSON(fc, {
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        var cls = "visit-marker trust-" + p.band + (p.drive_by ? " drive-by" : "");
        var m = L.marker(latlng, {
          icon: L.divIcon({ className: cls, iconSize: [14, 14] }),
          keyboard: true,
          title: p.title,
          alt: p.title,
        });
        m.bindTooltip(tooltip([p.title].concat(p.lines || [])));
        m.on("add", function () {
          var node = m.getElement();
          if (node) node.dataset.visitId = p.id;
        });
        if (p.url) m.on("click keypress", function () { window.location.href = p.url; });
        return m;
      },
    });
  }

  function markReady(name) {
    document.documentElement.dataset.mapReady = name;
    window.sfaMapDrawnAt = performance.now();
    document.dispatchEvent(new CustomEvent("sfa:map-drawn", { detail: name }));
  }

  function fit(map, group, maxZoom) {
    var bounds = group.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [32, 32], maxZoom: maxZoom || 16 });
    else map.setView([-6.2, 106.82], 11);
  }

  // --- Today: reps' last positions and today's visits --------------------------------
  function today() {
    var container = document.getElementById("today-map");
    if (!container) return;
    var map = baseMap(container);
    var layers = L.featureGroup().addTo(map);
    var first = true;

    function draw() {
      var data = readJson("today-data");
      if (!data) return;
      layers.clearLayers();
      visitLayer(data.visits).addTo(layers);
      L.geoJSON(data.reps, {
        pointToLayer: function (f, latlng) {
          var p = f.properties;
          var m = L.marker(latlng, {
            icon: L.divIcon({ className: "rep-marker" + (p.stale ? " stale" : ""), html: "", iconSize: [null, 18] }),
            keyboard: true,
            title: p.title,
            zIndexOffset: 1000,
          });
          m.on("add", function () {
            var node = m.getElement();
            if (node) { node.textContent = p.short; node.dataset.repId = p.id; }
          });
          m.bindTooltip(tooltip([p.title, p.age]));
          m.on("click keypress", function () { window.location.href = p.url; });
          return m;
        },
      }).addTo(layers);
      if (first) { fit(map, layers); first = false; }
      markReady("today");
    }

    draw();
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.target && e.target.id === "today-panel") draw();
    });
  }

  // --- Rep day: the track (simplified for the zoom), stops, visits ---------------------
  function repDay() {
    var container = document.getElementById("day-map");
    if (!container) return;
    var data = readJson("day-data");
    var map = baseMap(container);
    var group = L.featureGroup().addTo(map);
    var track = L.geoJSON(data.track, { style: { color: "#175cd3", weight: 3, opacity: 0.85 } }).addTo(group);
    L.geoJSON(data.stops, {
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        var m = L.marker(latlng, {
          icon: L.divIcon({ className: "stop-marker" + (p.unlogged ? " unlogged" : ""), iconSize: [12, 12] }),
          keyboard: true,
          title: p.title,
        });
        m.bindTooltip(tooltip([p.title].concat(p.lines || [])));
        return m;
      },
    }).addTo(group);
    var visits = visitLayer(data.visits).addTo(group);
    var loadedZoom = data.zoom;
    fit(map, group);
    var selected = container.dataset.selected;
    if (selected) {
      visits.eachLayer(function (m) {
        if (String(m.feature.properties.id) === selected) {
          map.setView(m.getLatLng(), 17);
          m.openTooltip();
          var node = m.getElement();
          if (node) node.classList.add("selected");
        }
      });
    }
    replay(map, data.timeline || []);
    markReady("rep-day");
    // Zoomed in past what the first drawing was simplified for: ask for more detail.
    map.on("zoomend", function () {
      var z = Math.round(map.getZoom());
      if (!data.track_url || z <= loadedZoom) return;
      loadedZoom = z;
      fetch(data.track_url + "?zoom=" + z, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (feature) {
          if (!feature) return;
          track.clearLayers();
          track.addData(feature);
          markReady("rep-day-detail");
        });
    });
  }

  // Replay: a slider through the day (one step a minute) moves the rep's marker.
  function replay(map, timeline) {
    var slider = document.getElementById("replay-time");
    var clock = document.getElementById("replay-clock");
    var play = document.getElementById("replay-play");
    if (!slider || !timeline.length) return;
    var marker = L.marker([timeline[0][2], timeline[0][1]], {
      icon: L.divIcon({ className: "rep-marker replay", html: "", iconSize: [null, 18] }),
      keyboard: false,
      zIndexOffset: 2000,
    }).addTo(map);
    function show(i) {
      var step = timeline[i];
      marker.setLatLng([step[2], step[1]]);
      var node = marker.getElement();
      if (node) node.textContent = step[0];
      clock.textContent = step[0];
    }
    slider.addEventListener("input", function () { show(Number(slider.value)); });
    var timer = null;
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; return; }
      if (Number(slider.value) >= timeline.length - 1) slider.value = 0;
      timer = setInterval(function () {
        var next = Number(slider.value) + 1;
        if (next >= timeline.length) { clearInterval(timer); timer = null; return; }
        slider.value = next;
        show(next);
      }, 40);
    });
    show(0);
  }

  // --- Approvals: the current and the proposed point of a customer ---------------------
  function miniMaps() {
    document.querySelectorAll(".mini-map[data-points]").forEach(function (container) {
      if (container.dataset.drawn) return;
      container.dataset.drawn = "1";
      var fc = JSON.parse(container.dataset.points);
      var map = baseMap(container);
      var group = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var m = L.marker(latlng, {
            icon: L.divIcon({ className: "stop-marker" + (f.properties.kind === "new" ? " unlogged" : ""), iconSize: [12, 12] }),
            keyboard: true,
            title: f.properties.title,
          });
          m.bindTooltip(tooltip([f.properties.title]), { permanent: true, direction: "top" });
          return m;
        },
      }).addTo(map);
      var pts = fc.features.map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; });
      if (pts.length === 2) L.polyline(pts, { color: "#475467", dashArray: "4 4", weight: 2 }).addTo(map);
      fit(map, group, 18);
    });
    if (document.querySelector(".mini-map")) markReady("approvals");
  }

  function start() {
    if (typeof L === "undefined") return;
    today();
    repDay();
    miniMaps();
    document.body.addEventListener("htmx:afterSettle", miniMaps);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
