/* zoning serve: the map page.
 *
 * Plain JavaScript, no build step, no framework. Leaflet and Leaflet.draw are vendored under
 * static/vendor/. Every text that comes from the server is put in the page with textContent or
 * document.createTextNode (never innerHTML), tooltips and popups get DOM nodes, not strings.
 * All URLs are relative, so the page also works behind a path prefix.
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------- labels and colours
  var UNIT_TYPES = {
    1: { colour: '#c8e3c0', label: '优先保护 priority' },
    2: { colour: '#f1cdbf', label: '重点管控 key' },
    3: { colour: '#e9e9e4', label: '一般管控 general' }
  };
  var VERDICTS = {
    prohibited: { colour: '#d55e00', zh: '禁止' },
    restricted: { colour: '#e69f00', zh: '限制' },
    undetermined: { colour: '#cc79a7', zh: '待定' },
    permitted: { colour: '#009e73', zh: '允许' },
    not_covered: { colour: '#0072b2', zh: '不在管控单元内' },
    error: { colour: '#555555', zh: '无法判定' }
  };
  var EFFECTS = { prohibit: '禁止', restrict: '限制', require: '要求', encourage: '鼓励' };
  var EFFECT_ORDER = { prohibit: 0, restrict: 1, require: 2, encourage: 3 };
  var STATUS = { applies: '适用 applies', unknown: '待定 undecided', undecided: '待定 undecided',
    manual_review: '人工核查 manual review' };
  var STATUS_ORDER = { applies: 0, unknown: 1, undecided: 1, manual_review: 2 };
  var LEVELS = { section: '门类 section', division: '大类 division', group: '中类 group', 'class': '小类 class' };
  var ZONE_STYLE = { color: '#2c5bd4', weight: 2, dashArray: '6 5', fillColor: '#2c5bd4', fillOpacity: 0.04 };
  var SITE_STYLE = { color: '#c0007a', weight: 3, fillColor: '#c0007a', fillOpacity: 0.15 };
  var TOKEN_KEY = 'zoning.token';

  function verdictLabel(v) {
    var info = VERDICTS[v];
    var en = String(v || '').replace(/_/g, ' ').toUpperCase();
    return info ? info.zh + ' ' + en : en;
  }

  // ---------------------------------------------------------------- DOM helpers
  function $(id) { return document.getElementById(id); }

  /* el('td', {class: 'x', title: 'y'}, 'text', otherNode, [more]) builds an element; strings become
   * text nodes, null/undefined/false children are skipped, arrays are flattened. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        if (k === 'class') node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  function fmt(x, digits) {
    if (typeof x !== 'number') return String(x);
    return x.toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 2 : digits });
  }

  // ---------------------------------------------------------------- the API
  function HttpError(status, problem) {
    this.name = 'HttpError';
    this.status = status;
    this.problem = problem;
    this.message = (problem && (problem.detail || problem.title)) || ('HTTP ' + status);
  }
  HttpError.prototype = Object.create(Error.prototype);

  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }

  /* fetch with the bearer token (if any); a non-2xx answer throws HttpError with the problem details */
  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    if (token()) headers.Authorization = 'Bearer ' + token();
    return fetch(path, Object.assign({}, options, { headers: headers })).then(function (resp) {
      if (resp.ok) return resp;
      if (resp.status === 401) showAuth();
      return resp.text().then(function (text) {
        var problem = null;
        try { problem = JSON.parse(text); } catch (e) { problem = text ? { detail: text.slice(0, 500) } : null; }
        throw new HttpError(resp.status, problem);
      });
    });
  }
  function getJSON(path, signal) {
    return api(path, { signal: signal }).then(function (r) { return r.json(); });
  }
  function postJSON(path, body, signal) {
    return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body), signal: signal });
  }

  // ---------------------------------------------------------------- errors, busy, auth
  function problemLines(err) {
    if (err instanceof HttpError) {
      var lines = [];
      if (err.status === 401) lines.push('需要访问令牌 access token required (401)');
      lines.push(err.message);
      var errors = (err.problem && Array.isArray(err.problem.errors)) ? err.problem.errors : [];
      errors.forEach(function (e) {
        if (e && (e.field || e.message)) lines.push((e.field ? e.field + ': ' : '') + (e.message || ''));
      });
      return lines;
    }
    return [String((err && err.message) || err)];
  }
  function showError(err) {
    if (err && err.name === 'AbortError') return;  // a newer request replaced this one
    var box = $('error');
    box.textContent = problemLines(err).join('\n');
    box.hidden = false;
  }
  function clearError() { $('error').hidden = true; $('error').textContent = ''; }

  var busyCount = 0;
  function busy(on) {
    busyCount = Math.max(0, busyCount + (on ? 1 : -1));
    $('busy').hidden = busyCount === 0;
  }

  function showAuth() {
    $('auth').hidden = false;
    $('token').value = token();
  }
  $('auth').addEventListener('submit', function (e) {
    e.preventDefault();
    try { sessionStorage.setItem(TOKEN_KEY, $('token').value.trim()); } catch (e) { /* private mode */ }
    $('auth').hidden = true;
    clearError();
    start();  // reload what failed
  });

  // ---------------------------------------------------------------- the map
  var map = L.map('map', { zoomControl: true });
  window.zoningMap = map;  // for tests and the browser console
  map.setView([38.9, 116.3], 8);
  map.createPane('where').style.zIndex = 410;   // siting layer above the units
  map.createPane('zones').style.zIndex = 420;   // overlay zones above that
  map.createPane('site').style.zIndex = 450;    // the site on top

  var unitsLayer = L.geoJSON(null, {
    style: function (f) {
      var t = UNIT_TYPES[f.properties && f.properties.type] || { colour: '#dddddd' };
      return { color: '#6d7f6d', weight: 1, fillColor: t.colour, fillOpacity: 0.55 };
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        var p = f.properties || {};
        var t = UNIT_TYPES[p.type];
        return el('div', null,
          el('b', null, p.code || ''), ' ', p.name || '',
          el('br'), p.type_name || (t ? t.label : ''), p.county ? ' · ' + p.county : '');
      }, { sticky: true });
    }
  }).addTo(map);

  var zonesLayer = L.geoJSON(null, {
    pane: 'zones',
    style: function () { return ZONE_STYLE; },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        var p = f.properties || {};
        return el('div', null, el('b', null, p.name || p.zone_id || ''), el('br'),
          (p.zone_id || '') + (p.kind ? ' · ' + p.kind : ''));
      }, { sticky: true });
    }
  }).addTo(map);

  var whereLayer = L.geoJSON(null, {
    pane: 'where',
    style: function (f) {
      var v = VERDICTS[f.properties && f.properties.verdict] || VERDICTS.error;
      return { color: v.colour, weight: 0.6, fillColor: v.colour, fillOpacity: 0.45 };
    },
    onEachFeature: function (f, layer) { layer.bindPopup(function () { return wherePopup(f.properties || {}); }); }
  });

  var siteLayer = L.featureGroup().addTo(map);
  var baseLayers = {};
  var layersControl = L.control.layers(baseLayers, {
    '管控单元 units': unitsLayer, '叠加区域 zones': zonesLayer, '场址 site': siteLayer
  }, { collapsed: true }).addTo(map);

  // legend: unit types, zones, siting verdicts
  var legend = L.control({ position: 'bottomright' });
  legend.onAdd = function () {
    var box = el('div', { class: 'legend' });
    Object.keys(UNIT_TYPES).forEach(function (k) {
      box.appendChild(el('div', null, el('i', { style: 'background:' + UNIT_TYPES[k].colour }),
        k + ' ' + UNIT_TYPES[k].label));
    });
    box.appendChild(el('div', null, el('i', { class: 'dash' }), '叠加区域 zones'));
    var verdicts = el('div', { id: 'legend-where', hidden: 'hidden' }, el('b', null, '选址引导 siting'));
    ['prohibited', 'restricted', 'undetermined', 'permitted'].forEach(function (v) {
      verdicts.appendChild(el('div', null, el('i', { style: 'background:' + VERDICTS[v].colour }), verdictLabel(v)));
    });
    box.appendChild(verdicts);
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);

  function bboxOf(bounds) {
    var r = function (x) { return Math.round(x * 1e6) / 1e6; };
    return [Math.max(-180, r(bounds.getWest())), Math.max(-90, r(bounds.getSouth())),
      Math.min(180, r(bounds.getEast())), Math.min(90, r(bounds.getNorth()))];
  }

  /* the URL of the next page: "next" is an offset (number) or a URL the server built */
  function nextUrl(base, next) {
    if (next === null || next === undefined || next === false) return null;
    if (typeof next === 'number' || /^\d+$/.test(String(next))) return base + '&offset=' + next;
    return String(next);
  }

  /* load a (possibly paged) FeatureCollection into layer; gen guards against a newer load */
  var loads = { units: 0, zones: 0 };
  function loadPaged(kind, layer, base) {
    var gen = ++loads[kind];
    var first = true;
    var pages = 0;
    function page(url) {
      return getJSON(url).then(function (data) {
        if (gen !== loads[kind]) return;  // the view moved again: drop this answer
        if (first) { layer.clearLayers(); first = false; }
        layer.addData((data && data.features) || []);
        var next = nextUrl(base, data && data.next);
        if (next && ++pages < 500) return page(next);
      });
    }
    return page(base);
  }

  function loadLayers() {
    var bbox = bboxOf(map.getBounds()).join(',');
    return Promise.all([
      loadPaged('units', unitsLayer, 'api/units?bbox=' + bbox + '&zoom=' + map.getZoom()),
      loadPaged('zones', zonesLayer, 'api/zones?bbox=' + bbox)
    ]).catch(showError);
  }
  var loadLayersSoon = debounce(loadLayers, 300);
  map.on('moveend', function () {
    loadLayersSoon();
    if ($('where-toggle').checked && !(whereBounds && whereBounds.contains(map.getBounds()))) loadWhereSoon();
  });

  // ---------------------------------------------------------------- start: /api/health
  var started = false;
  function start() {
    return getJSON('api/health').then(function (h) {
      var meta = [];
      if (h.version) meta.push('zoning ' + h.version);
      if (h.rules_sha256) meta.push('规则 rules ' + String(h.rules_sha256).slice(0, 12) + '…');
      if (h.as_of) meta.push('as of ' + h.as_of);
      if (h.units !== undefined) meta.push(h.units + ' 单元 units');
      if (h.zones !== undefined) meta.push(h.zones + ' 区域 zones');
      $('meta').textContent = meta.join(' · ');
      $('illustrative').hidden = !h.illustrative;
      if (h.basemap && !baseLayers['底图 basemap']) {
        var tiles = L.tileLayer(h.basemap, { maxZoom: 19 }).addTo(map);
        baseLayers['底图 basemap'] = tiles;
        layersControl.addBaseLayer(tiles, '底图 basemap');
      }
      if (!started && Array.isArray(h.bounds) && h.bounds.length === 4) {
        map.fitBounds([[h.bounds[1], h.bounds[0]], [h.bounds[3], h.bounds[2]]]);
      }
      started = true;
    }).catch(showError).then(loadLayers);
  }

  // ---------------------------------------------------------------- the site
  var site = null;           // {lon, lat, crs} or {geometry}
  var lastDrawStop = 0;      // map clicks right after a drawing ends are not sites
  var drawing = false;

  function siteChanged(text) {
    $('site-info').textContent = text;
    ['dl-docx', 'dl-html', 'dl-geojson'].forEach(function (id) { $(id).disabled = !site; });
  }

  function setPointSite(lon, lat, crs) {
    siteLayer.clearLayers();
    L.marker([lat, lon], { title: '场址 site' }).addTo(siteLayer);
    site = { lon: lon, lat: lat, crs: crs || '' };
    clear($('site-notes'));
    var crsName = crs ? $('crs').options[$('crs').selectedIndex].text : 'CGCS2000';
    siteChanged('点 point: ' + fmt(lon, 6) + ', ' + fmt(lat, 6) + ' (' + crsName + ')' +
      (crs ? '；地图位置近似 shown approximately' : ''));
  }

  function setGeometrySite(geometry, notes, fit) {
    siteLayer.clearLayers();
    var shown = L.geoJSON(geometry, { pane: 'site', style: function () { return SITE_STYLE; } }).addTo(siteLayer);
    site = { geometry: geometry };
    var list = $('site-notes');
    clear(list);
    (notes || []).forEach(function (n) { list.appendChild(el('li', null, n)); });
    var names = { Point: '点 point', MultiPoint: '多点 points', LineString: '线 line', MultiLineString: '线 lines',
      Polygon: '面 polygon', MultiPolygon: '多面 polygons', GeometryCollection: '几何集合 collection' };
    siteChanged((names[geometry.type] || geometry.type) + ' (CGCS2000)');
    if (fit) {
      var b = shown.getBounds();
      if (b.isValid()) map.fitBounds(b, { maxZoom: 15, padding: [30, 30] });
    }
  }

  function clearSite() {
    siteLayer.clearLayers();
    site = null;
    clear($('site-notes'));
    siteChanged('未选场址 no site yet');
  }
  $('site-clear').addEventListener('click', clearSite);

  // a click on the map: a point site (CGCS2000, the map's coordinates)
  map.on('click', function (e) {
    if (drawing || Date.now() - lastDrawStop < 500) return;
    var lon = Math.round(e.latlng.lng * 1e6) / 1e6;
    var lat = Math.round(e.latlng.lat * 1e6) / 1e6;
    $('lon').value = lon;
    $('lat').value = lat;
    $('crs').value = '';
    setPointSite(lon, lat, '');
  });

  // typed coordinates, in the chosen CRS
  $('coords-set').addEventListener('click', function () {
    var lon = parseFloat($('lon').value), lat = parseFloat($('lat').value);
    if (!isFinite(lon) || !isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
      showError('请输入有效的经纬度 enter a valid lon and lat');
      return;
    }
    clearError();
    setPointSite(lon, lat, $('crs').value);
    map.panTo([lat, lon]);
  });

  // Leaflet.draw: a polygon, rectangle or line drawn on the map (button titles Chinese first)
  var buttons = L.drawLocal.draw.toolbar.buttons;
  buttons.polygon = '绘制面 draw a polygon';
  buttons.rectangle = '绘制矩形 draw a rectangle';
  buttons.polyline = '绘制线 draw a line';
  L.drawLocal.draw.toolbar.actions.text = '取消 Cancel';
  L.drawLocal.draw.toolbar.finish.text = '完成 Finish';
  L.drawLocal.draw.toolbar.undo.text = '撤销 Undo last point';
  var drawControl = new L.Control.Draw({
    position: 'topleft',
    draw: {
      polygon: { allowIntersection: false, showArea: false, shapeOptions: SITE_STYLE },
      rectangle: { showArea: false, shapeOptions: SITE_STYLE },
      polyline: { shapeOptions: SITE_STYLE },
      circle: false, circlemarker: false, marker: false
    }
  });
  map.addControl(drawControl);
  map.on(L.Draw.Event.DRAWSTART, function () { drawing = true; });
  map.on(L.Draw.Event.DRAWSTOP, function () { drawing = false; lastDrawStop = Date.now(); });
  map.on(L.Draw.Event.CREATED, function (e) {
    lastDrawStop = Date.now();
    setGeometrySite(e.layer.toGeoJSON().geometry, [], false);
  });

  // a site file: the server reads it (any format the CLI reads) and answers lon/lat GeoJSON
  $('site-upload').addEventListener('click', function () {
    var file = $('site-file').files[0];
    if (!file) { showError('请选择文件 choose a file first'); return; }
    clearError();
    var form = new FormData();
    form.append('file', file, file.name);
    busy(true);
    api('api/site', { method: 'POST', body: form })
      .then(function (r) { return r.json(); })
      .then(function (data) { setGeometrySite(data.geometry, data.notes, true); })
      .catch(showError)
      .then(function () { busy(false); });
  });

  // ---------------------------------------------------------------- industry autocomplete
  var industry = $('industry'), suggestions = $('industry-list');
  var acItems = [], acActive = -1, acController = null;

  function hideSuggestions() {
    suggestions.hidden = true;
    industry.setAttribute('aria-expanded', 'false');
    acActive = -1;
  }
  function chooseIndustry(item) {
    industry.value = item.code;
    $('industry-name').textContent = item.code + ' ' + item.name;
    hideSuggestions();
    projectChanged();
  }
  function showSuggestions(items) {
    acItems = items;
    acActive = -1;
    clear(suggestions);
    items.forEach(function (item) {
      var li = el('li', { role: 'option', 'data-code': item.code },
        el('span', { class: 'code' }, item.code), item.name,
        el('span', { class: 'level' }, LEVELS[item.level] || item.level || ''));
      // mousedown, not click: it comes before the input's blur hides the list
      li.addEventListener('mousedown', function (e) { e.preventDefault(); chooseIndustry(item); });
      suggestions.appendChild(li);
    });
    suggestions.hidden = items.length === 0;
    industry.setAttribute('aria-expanded', items.length ? 'true' : 'false');
  }
  function markActive() {
    Array.prototype.forEach.call(suggestions.children, function (li, i) {
      li.classList.toggle('active', i === acActive);
      if (i === acActive) li.scrollIntoView({ block: 'nearest' });
    });
  }
  var suggestSoon = debounce(function () {
    var q = industry.value.trim();
    if (acController) acController.abort();
    if (!q) { hideSuggestions(); return; }
    acController = new AbortController();
    getJSON('api/industries?q=' + encodeURIComponent(q) + '&limit=20', acController.signal)
      .then(function (data) { if (document.activeElement === industry) showSuggestions((data && data.items) || []); })
      .catch(showError);
  }, 200);
  industry.addEventListener('input', function () { $('industry-name').textContent = ''; suggestSoon(); });
  industry.addEventListener('blur', function () { setTimeout(hideSuggestions, 150); });
  industry.addEventListener('keydown', function (e) {
    if (suggestions.hidden || !acItems.length) return;
    if (e.key === 'ArrowDown') { acActive = (acActive + 1) % acItems.length; markActive(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { acActive = (acActive - 1 + acItems.length) % acItems.length; markActive(); e.preventDefault(); }
    else if (e.key === 'Enter' && acActive >= 0) { chooseIndustry(acItems[acActive]); e.preventDefault(); }
    else if (e.key === 'Escape') { hideSuggestions(); }
  });

  // ---------------------------------------------------------------- free attributes
  function addAttrRow(name, value) {
    var row = el('div', { class: 'attr-row' },
      el('input', { type: 'text', class: 'attr-name', list: 'attr-names', placeholder: '名称 name', value: name || '' }),
      '=',
      el('input', { type: 'text', class: 'attr-value', placeholder: '值 value', value: value || '' }),
      el('button', { type: 'button', class: 'small', title: '删除 remove' }, '×'));
    row.querySelector('button').addEventListener('click', function () { row.remove(); projectChanged(); });
    $('attrs').appendChild(row);
    return row;
  }
  $('attr-add').addEventListener('click', function () { addAttrRow().querySelector('input').focus(); });

  /* "12.5" -> 12.5, "true"/"false" -> booleans, anything else stays text (the server checks it) */
  function attrValue(text) {
    var t = text.trim();
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
    if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
    return t;
  }

  // ---------------------------------------------------------------- the request body
  function projectInputs() {
    var body = {};
    var code = industry.value.trim();
    if (code) body.industry = code;
    if ($('type').value) body.type = $('type').value;
    var emissions = {};
    Array.prototype.forEach.call(document.querySelectorAll('[data-emission]'), function (input) {
      if (input.value.trim() !== '') emissions[input.getAttribute('data-emission')] = Number(input.value);
    });
    if (Object.keys(emissions).length) body.emissions = emissions;
    var attributes = {};
    Array.prototype.forEach.call(document.querySelectorAll('#attrs .attr-row'), function (row) {
      var name = row.querySelector('.attr-name').value.trim();
      var value = row.querySelector('.attr-value').value;
      if (name && value.trim() !== '') attributes[name] = attrValue(value);
    });
    if (Object.keys(attributes).length) body.attributes = attributes;
    return body;
  }

  function checkBody() {
    if (!site) throw new Error('请先选择场址 choose a site first: click the map, draw, type coordinates or upload a file');
    var body = {};
    if (site.geometry) {
      body.geometry = site.geometry;
    } else {
      body.lon = site.lon;
      body.lat = site.lat;
      if (site.crs) body.crs = site.crs;
    }
    Object.assign(body, projectInputs());
    body.guidance = $('guidance').checked;
    return body;
  }

  // ---------------------------------------------------------------- check
  var lastCheck = null;  // {body, result}
  var checkController = null;

  $('form').addEventListener('submit', function (e) {
    e.preventDefault();
    clearError();
    var body;
    try { body = checkBody(); } catch (err) { showError(err); return; }
    if (checkController) checkController.abort();
    checkController = new AbortController();
    $('result').hidden = true;
    clear($('result'));
    busy(true);
    postJSON('api/check', body, checkController.signal)
      .then(function (r) { return r.json(); })
      .then(function (result) {
        lastCheck = { body: body, result: result };
        renderResult(result);
        $('verdict').scrollIntoView({ block: 'nearest' });
        // a point typed in GCJ-02/BD-09: show it where the server put it in CGCS2000
        var loc = result.project && result.project.location;
        if (site && !site.geometry && site.crs && loc && isFinite(loc.lon) && isFinite(loc.lat)) {
          siteLayer.clearLayers();
          L.marker([loc.lat, loc.lon], { title: '场址 site (CGCS2000)' }).addTo(siteLayer);
        }
      })
      .catch(showError)
      .then(function () { busy(false); });
    if ($('where-toggle').checked) loadWhereSoon();
  });

  // ---------------------------------------------------------------- the result
  function section(title) { return el('h2', null, title); }

  function lines(items, cls) {
    var ul = el('ul', { class: 'lines' + (cls ? ' ' + cls : '') });
    items.forEach(function (item) { ul.appendChild(el('li', null, item)); });
    return ul;
  }

  function verdictSpan(v) { return el('span', { class: 'v-' + v }, verdictLabel(v)); }

  function sourceText(s) {
    if (!s) return '';
    return ['document', 'issuer', 'date', 'article'].filter(function (k) { return s[k]; })
      .map(function (k) { return String(s[k]); }).join(', ');
  }

  function renderResult(r) {
    var out = $('result');
    clear(out);

    // the verdict, big and coloured
    out.appendChild(el('div', { id: 'verdict', 'data-verdict': r.verdict }, verdictLabel(r.verdict)));
    if (r.worst_case && r.worst_case !== r.verdict && r.worst_case !== 'not_covered') {
      out.appendChild(el('div', { class: 'worst' }, '补全输入后可能为 may be ', verdictSpan(r.worst_case),
        ' once missing inputs are given'));
    }

    // what was checked
    var p = r.project || {};
    var facts = [];
    if (p.location) {
      facts.push('场址 site: ' + (p.geometry_type || '') + ' at lon ' + p.location.lon + ', lat ' + p.location.lat +
        ' (CGCS2000)' + (typeof p.area_m2 === 'number' ? ', ' + fmt(p.area_m2, 1) + ' m²' : ''));
    }
    if (p.input_crs) facts.push('输入坐标系 input CRS: ' + p.input_crs);
    facts.push('行业 industry: ' + (p.industry ? p.industry.code + ' ' + p.industry.name : '(未填 not given)') +
      '; 建设性质 type: ' + (p.type || '(未填 not given)'));
    if (p.attributes && Object.keys(p.attributes).length) {
      facts.push('属性 attributes: ' + Object.keys(p.attributes).map(function (k) {
        return k + '=' + p.attributes[k];
      }).join(', '));
    }
    out.appendChild(lines(facts, 'dim'));

    if (r.notes && r.notes.length) {
      out.appendChild(section('说明 Notes'));
      out.appendChild(lines(r.notes));
    }
    if (r.missing && r.missing.length) {
      out.appendChild(section('缺少的输入 Missing inputs'));
      out.appendChild(el('div', { class: 'missing' }, r.missing.join(', ')));
    }
    if (r.obligations && r.obligations.length) {
      out.appendChild(section('义务 Obligations'));
      out.appendChild(lines(r.obligations.map(function (o) {
        return (o.unit_code ? o.unit_code + ' ' : '') + o.list + '/' + o.clause + ': ' + o.text;
      })));
    }
    if (r.encouraged && r.encouraged.length) {
      out.appendChild(section('鼓励 Encouraged by'));
      out.appendChild(lines(r.encouraged.map(function (x) { return typeof x === 'string' ? x : JSON.stringify(x); })));
    }
    renderUnits(out, r);
    renderCitations(out, r);
    if (r.guidance) renderGuidance(out, r.guidance);
    if (r.provenance) {
      var pv = r.provenance;
      out.appendChild(el('p', { class: 'dim' }, '规则 Rules: ' + (pv.lists_in_force || '?') + ' list(s) in force on ' +
        pv.as_of + ' (rules sha256 ' + String(pv.rules_sha256 || '').slice(0, 16) + '…, zoning ' +
        (pv.engine_version || '') + ')'));
    }
    out.hidden = false;
  }

  function overlapCells(u) {
    if (typeof u.overlap_m2 === 'number') {
      return fmt(u.overlap_m2, 1) + ' m² (' + fmt(u.overlap_share * 100, 1) + '%)';
    }
    if (typeof u.overlap_m === 'number') return fmt(u.overlap_m, 1) + ' m (' + fmt(u.overlap_share * 100, 1) + '%)';
    return null;
  }

  function renderUnits(out, r) {
    if (!r.units || !r.units.length) return;
    out.appendChild(section('管控单元 Management units'));
    var hasOverlap = r.units.some(function (u) { return overlapCells(u) !== null; });
    var table = el('table', { class: 'units' }, el('tr', null, el('th', null, '编码 code'), el('th', null, '名称 name'),
      el('th', null, '类型 type'), el('th', null, '结论 verdict'), hasOverlap ? el('th', null, '重叠 overlap') : null));
    r.units.forEach(function (u) {
      table.appendChild(el('tr', null, el('td', { class: 'unit-code' }, u.code), el('td', null, u.name),
        el('td', null, u.type + ' ' + (u.type_name || '')), el('td', null, verdictSpan(u.verdict)),
        hasOverlap ? el('td', null, overlapCells(u) || '') : null));
    });
    out.appendChild(table);
    if (r.disregarded && r.disregarded.length) {
      out.appendChild(el('div', { class: 'dim' }, '忽略的细碎重叠 Disregarded slivers:'));
      out.appendChild(lines(r.disregarded.map(function (u) {
        return u.code + ' ' + u.name + (u.reason ? ': ' + u.reason : '');
      }), 'dim'));
    }
  }

  /* the lines under a clause's text: zone, distances, inside, parameters, obligations */
  function citationExtras(c) {
    var extra = [];
    if (c.zone) extra.push('区域 zone: ' + c.zone);
    (c.distances || []).forEach(function (d) {
      extra.push(d.distance_m === null || d.distance_m === undefined
        ? 'Distance: no ' + String(d.condition || '').replace(/^within /, '') + ' (the zone layer has none)'
        : '距离 Distance to ' + d.zone + ' ' + (d.zone_name || '') + ': ' + fmt(d.distance_m, 1) + ' m (' +
          (d.within ? 'within' : 'beyond') + ' ' + d.limit_m + ' m)');
    });
    (c.inside || []).forEach(function (d) {
      extra.push(d.condition + ': ' + (d.inside ? 'inside, ' + fmt(d.share * 100, 1) + '% of the site' : 'not inside'));
    });
    (c.parameters || []).forEach(function (par) {
      var value = par.value === null || par.value === undefined ? 'missing' : par.value + ' ' + (par.unit || '');
      extra.push('参数 Parameter ' + par.name + ' = ' + value + ' (' + par.by + ' ' + par.key + ')');
    });
    (c.obligations || []).forEach(function (o) { extra.push('义务 Obligation: ' + o.text); });
    return extra;
  }

  function renderCitations(out, r) {
    if (!r.citations || !r.citations.length) return;
    out.appendChild(section('准入清单条款 Clauses (' + r.citations.length + ')'));
    // the deciding clauses first: by unit, effect (prohibit first), status (applies first), list, clause
    var cites = r.citations.slice().sort(function (a, b) {
      return String(a.unit).localeCompare(String(b.unit)) ||
        (EFFECT_ORDER[a.effect] - EFFECT_ORDER[b.effect]) ||
        ((STATUS_ORDER[a.status] || 0) - (STATUS_ORDER[b.status] || 0)) ||
        String(a.list).localeCompare(String(b.list)) || String(a.clause).localeCompare(String(b.clause));
    });
    // three columns, to fit the side panel: where (unit, list, clause), how (effect, status), what (text, source)
    var table = el('table', { class: 'citations' }, el('tr', null,
      el('th', null, '单元/清单/条款 unit/list/clause'), el('th', null, '效力/状态 effect/status'),
      el('th', null, '条文与出处 text and source')));
    cites.forEach(function (c) {
      var status = STATUS[c.status] || c.status;
      table.appendChild(el('tr', { class: 'citation', 'data-clause': c.list + '/' + c.clause },
        el('td', { class: 'clause-cell' },
          el('div', { class: 'unit-code' }, c.unit),
          el('div', { class: 'list-id' }, c.list + (c.version ? ' ' + c.version : '')),
          el('div', { class: 'clause-id' }, c.clause)),
        el('td', { class: 'effect-cell' },
          el('div', { class: 'effect-' + c.effect }, (EFFECTS[c.effect] || '') + ' ' + c.effect),
          el('div', { class: 'status-' + c.status }, status),
          c.missing && c.missing.length ? el('div', { class: 'extra' }, '缺 missing: ' + c.missing.join(', ')) : null),
        el('td', null,
          c.dimension_name ? el('div', { class: 'dim' }, c.dimension_name + ' (' + c.dimension + ')') : null,
          el('div', { class: 'text' }, c.text),
          c.text_en ? el('div', { class: 'text-en' }, c.text_en) : null,
          citationExtras(c).map(function (x) { return el('div', { class: 'extra' }, x); }),
          el('div', { class: 'source' }, '出处 Source: ' + sourceText(c.source) +
            (c.list_title ? ' — ' + c.list_title : '')))));
    });
    out.appendChild(table);
  }

  // ---------------------------------------------------------------- guidance (as `zoning check --guidance` prints it)
  function renderGuidance(out, g) {
    out.appendChild(section('改变结论的条件 What would change the result'));
    var box = el('div', { class: 'guidance' });
    if (g.note) box.appendChild(el('p', { class: 'dim' }, g.note));
    if (g.summary) box.appendChild(el('p', null, typeof g.summary === 'string' ? g.summary : JSON.stringify(g.summary)));
    var c = g.combined;
    if (c && c.found) {
      box.appendChild(el('p', null, el('b', null, '全部解除 All deciding clauses lifted by: '), c.text, ' → ',
        verdictSpan(c.verdict_after)));
      if (c.alternatives && c.alternatives.length) {
        box.appendChild(lines(c.alternatives.map(function (a) {
          return el('span', null, '或 or by: ' + a.text + ' → ', verdictSpan(a.verdict_after));
        })));
      }
    } else if (c) {
      box.appendChild(el('p', null, '没有能解除全部条款的组合 No combination lifts every deciding clause: ' + (c.reason || '')));
    }
    (g.clauses || []).forEach(function (cl) {
      var status = cl.status === 'applies' ? '适用 applies' : '待定 undecided';
      var items = (cl.changes || []).map(function (ch) {
        return el('span', null, '解除条件 lifted by ' + ch.text + ' → ', verdictSpan(ch.verdict_after));
      });
      if (!cl.liftable) items.push(el('b', null, '项目无法解除 not liftable by the project: ' + (cl.reason || '')));
      if (cl.industry_only && cl.industry_only.length) {
        items.push(el('span', { class: 'dim' }, '(only by industry, not suggested: ' + cl.industry_only.join('; ') + ')'));
      }
      box.appendChild(el('div', { class: 'guidance-clause' },
        el('span', { class: 'guidance-clause-id' }, cl.clause), ' ',
        el('span', { class: 'effect-' + cl.effect }, (EFFECTS[cl.effect] || '') + ' ' + cl.effect), ' · ' + status,
        lines(items)));
    });
    if (g.not_liftable && g.not_liftable.length) {
      box.appendChild(el('p', null, '只有换址才能解除 Only another place lifts: ' + g.not_liftable.join(', ')));
    }
    var deciding = (g.undetermined || []).filter(function (u) { return u.decides; });
    var other = (g.undetermined || []).filter(function (u) { return !u.decides; });
    if (deciding.length) {
      box.appendChild(lines(deciding.map(function (u) { return '缺少 Missing ' + u.input + ': ' + u.text; })));
    }
    if (other.length) {
      box.appendChild(el('p', { class: 'dim' }, 'Missing, not deciding alone: ' +
        other.map(function (u) { return u.input; }).join(', ')));
    }
    var places = g.places;
    if (places && places.available === false) {
      box.appendChild(el('p', { class: 'dim' }, '地点 Places: ' + (places.reason || '')));
    } else if (places) {
      var rows = [['permitted', '允许 permitted'], ['at_most_restricted', '至多限制 at most restricted']].map(function (t) {
        var pl = places[t[0]];
        if (!pl) return '最近地点 Nearest place, ' + t[1] + ': none within ' + places.searched_km + ' km';
        return '最近地点 Nearest place, ' + t[1] + ': ' + fmt(pl.distance_m / 1000, 1) + ' km ' + pl.direction +
          ' (lon ' + pl.lon + ', lat ' + pl.lat + ', unit ' + pl.unit + '; re-checked: ' + pl.verdict_checked + ')';
      });
      box.appendChild(lines(rows));
    }
    out.appendChild(box);
  }

  // ---------------------------------------------------------------- the siting layer (POST /api/where)
  var whereController = null, whereBounds = null;

  function wherePopup(p) {
    // clauses and reasons come as lists or as text joined with ';'
    var clauses = Array.isArray(p.clauses) ? p.clauses.join(', ') : String(p.clauses || '').split(';').join(', ');
    var reasons = Array.isArray(p.reasons) ? p.reasons : String(p.reasons || '').split(';').filter(Boolean);
    return el('div', null,
      el('div', null, el('b', null, verdictLabel(p.verdict))),
      p.unit_code ? el('div', null, '单元 unit: ' + p.unit_code + (p.unit_name ? ' ' + p.unit_name : '')) : null,
      clauses ? el('div', null, '条款 clauses: ' + clauses) : null,
      reasons.length ? el('ul', { class: 'lines popup-reasons' }, reasons.map(function (x) {
        return el('li', null, x.trim());
      })) : null,
      typeof p.area_ha === 'number' ? el('div', null, '面积 area: ' + fmt(p.area_ha, 2) + ' ha') : null,
      p.encouraged ? el('div', null, '鼓励 encouraged' + (p.encouraged_by ? ': ' + p.encouraged_by : '')) : null);
  }

  function loadWhere() {
    if (whereController) whereController.abort();
    if (!$('where-toggle').checked) { whereLayer.clearLayers(); whereBounds = null; return; }
    var bounds = map.getBounds();
    var body = Object.assign(projectInputs(), { within: bboxOf(bounds) });
    whereController = new AbortController();
    busy(true);
    postJSON('api/where', body, whereController.signal)
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        whereLayer.clearLayers();
        whereLayer.addData((fc && fc.features) || []);
        whereBounds = bounds;
      })
      .catch(showError)
      .then(function () { busy(false); });
  }
  var loadWhereSoon = debounce(loadWhere, 600);

  $('where-toggle').addEventListener('change', function () {
    var on = $('where-toggle').checked;
    if (on) whereLayer.addTo(map); else map.removeLayer(whereLayer);
    var legendWhere = $('legend-where');
    if (legendWhere) legendWhere.hidden = !on;
    clearError();
    loadWhere();
  });

  // the siting layer follows the project's inputs
  function projectChanged() {
    whereBounds = null;
    if ($('where-toggle').checked) loadWhereSoon();
  }
  ['type', 'emissions', 'attrs'].forEach(function (id) { $(id).addEventListener('change', projectChanged); });
  industry.addEventListener('change', projectChanged);

  // ---------------------------------------------------------------- downloads
  function filenameOf(resp, fallback) {
    var cd = resp.headers.get('Content-Disposition') || '';
    var star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    if (star) { try { return decodeURIComponent(star[1]); } catch (e) { /* fall through */ } }
    var plain = /filename="?([^";]+)"?/i.exec(cd);
    return plain ? plain[1] : fallback;
  }

  function saveBlob(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = el('a', { href: url, download: name, hidden: 'hidden' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  /* the result as a GeoJSON Feature built here, if the server cannot make one */
  function localFeature(body, result) {
    var geometry = body.geometry ||
      (result.project && result.project.location
        ? { type: 'Point', coordinates: [result.project.location.lon, result.project.location.lat] }
        : { type: 'Point', coordinates: [body.lon, body.lat] });
    var props = Object.assign({}, result);
    return { type: 'Feature', geometry: geometry, properties: props };
  }

  function download(path, fallbackName, buttonId) {
    clearError();
    var body;
    try { body = checkBody(); } catch (err) { showError(err); return; }
    var button = $(buttonId);
    button.disabled = true;
    busy(true);
    postJSON(path, body)
      .then(function (resp) {
        return resp.blob().then(function (blob) { saveBlob(blob, filenameOf(resp, fallbackName)); });
      })
      .catch(function (err) {
        // GeoJSON: fall back on the last check's answer (same body) if the server has no geojson format
        if (buttonId === 'dl-geojson' && lastCheck && err.status !== 401 &&
            JSON.stringify(lastCheck.body) === JSON.stringify(body)) {
          var text = JSON.stringify(localFeature(body, lastCheck.result), null, 2);
          saveBlob(new Blob([text], { type: 'application/geo+json' }), fallbackName);
          return;
        }
        showError(err);
      })
      .then(function () { busy(false); button.disabled = !site; });
  }
  $('dl-docx').addEventListener('click', function () { download('api/report?format=docx', 'zoning-report.docx', 'dl-docx'); });
  $('dl-html').addEventListener('click', function () { download('api/report?format=html', 'zoning-report.html', 'dl-html'); });
  $('dl-geojson').addEventListener('click', function () {
    download('api/check?format=geojson', 'zoning-check.geojson', 'dl-geojson');
  });

  // ---------------------------------------------------------------- go
  if (token()) $('token').value = token();
  start();
}());
