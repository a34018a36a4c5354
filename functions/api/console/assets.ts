import { createHash } from 'node:crypto';

/**
 * The console's only two assets, written here and served by the api function itself (no CDN, nothing to
 * copy into the bundle): one stylesheet and one small progressive-enhancement script. Their URLs carry a
 * hash of their content, so browsers keep them for a year and a deploy changes the URL.
 */

const CSS = `:root{color-scheme:light;--fg:#1b1b1b;--muted:#525252;--line:#c6c6c6;--soft:#f3f4f6;--accent:#0b57d0;--ok:#146c2e;--bad:#b3261e;--warn:#7a3d00}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans KR","Noto Sans Thai",sans-serif;color:var(--fg);background:#fff}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:.5rem;top:-4rem;background:#fff;color:var(--accent);padding:.5rem 1rem;z-index:2}
.skip:focus{top:.5rem}
.top{background:#1f3a5f;color:#fff;padding:.5rem 1rem}
.top a,.top button.link{color:#fff}
.top :focus-visible{outline-color:#ffd166}
.top-inner{max-width:60rem;margin:0 auto;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;align-items:center}
.brand{font-weight:700;margin-right:auto;text-decoration:none}
.top ul{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
.top li a,.top button.link{display:inline-flex;align-items:center;padding:.25rem 0;min-height:44px}
.top [aria-current=page]{font-weight:700;text-decoration-thickness:3px}
main{display:block;max-width:60rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1.05rem;margin:1rem 0 .25rem}
p{margin:.5rem 0}
.muted{color:var(--muted)}
button,.button{font:inherit;min-height:44px;padding:.5rem 1rem;border-radius:6px;border:2px solid var(--accent);background:#fff;color:var(--accent);cursor:pointer;text-decoration:none;display:inline-block}
button.primary,.button.primary{background:var(--accent);color:#fff}
button.big{width:100%;font-size:1.25rem;font-weight:700;padding:.75rem 1rem}
button.link{border:0;background:none;padding:0;min-height:0;text-decoration:underline}
button[disabled]{opacity:.7;cursor:progress}
input,select,textarea{font:inherit;color:inherit;background:#fff;width:100%;max-width:32rem;min-height:44px;padding:.4rem .5rem;border:1px solid #6e6e6e;border-radius:4px}
input[type=checkbox],input[type=radio]{width:1.5rem;min-height:1.5rem;height:1.5rem;margin:0 .5rem 0 0;vertical-align:middle}
textarea{min-height:6rem}
label,legend{display:block;font-weight:600;margin:.75rem 0 .25rem}
label.check{font-weight:400;display:flex;align-items:center;margin:.5rem 0;min-height:44px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:1rem 0;padding:.5rem 1rem 1rem}
.hint{color:var(--muted);font-size:.9rem;margin:.1rem 0 .25rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
.row>*{flex:1 1 12rem}
.row>button{flex:0 0 auto}
.row.days>*{flex-basis:9rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem}
details{border:1px solid var(--line);border-radius:6px;margin:.75rem 0;padding:0 1rem}
details[open]{padding-bottom:1rem}
summary{cursor:pointer;font-weight:600;min-height:44px;display:flex;align-items:center}
.leads{list-style:none;margin:0;padding:0}
.leads li{border-bottom:1px solid var(--line)}
.leads a{display:block;padding:.75rem .25rem;color:inherit;text-decoration:none}
.leads a:hover .name,.leads a:focus .name{text-decoration:underline}
.name{font-weight:700;color:var(--accent)}
.meta{display:flex;flex-wrap:wrap;gap:.25rem .75rem;color:var(--muted);font-size:.95rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:.85rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.badge.urgent,.badge.overdue{background:var(--bad);border-color:var(--bad);color:#fff}
.badge.high{background:#fff4e5;color:var(--warn)}
.badge.verified{background:#e6f4ea;color:#0d3b1e}
.badge.claimed{background:#fff;color:var(--muted)}
.clock{font-size:1.15rem;font-weight:700;margin:.5rem 0}
.clock.running{color:var(--bad)}
.clock.stopped{color:var(--ok)}
.notice{border-left:5px solid var(--ok);background:#e6f4ea;color:#0d3b1e;padding:.5rem 1rem;margin:1rem 0}
.notice.error{border-color:var(--bad);background:#fce8e6;color:#5c1410}
.notice:focus{outline:3px solid var(--accent)}
dl.facts{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.25rem 1rem;margin:.5rem 0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.timeline{list-style:none;margin:0;padding:0}
.timeline li{border-left:3px solid var(--line);padding:.25rem 0 .75rem .75rem}
.timeline .what{font-weight:600}
.message{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.5rem .75rem;border-radius:4px;margin:.25rem 0}
.table-wrap{overflow-x:auto;margin:.5rem 0}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;gap:1rem;grid-template-columns:minmax(0,1fr)}
@media (min-width:62rem){.charts{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}}
figure{margin:0}
figcaption{font-weight:700;margin:.5rem 0}
svg.chart{width:100%;max-width:36rem;height:auto;display:block}
svg .bar{fill:var(--accent)}
svg .bar.won{fill:var(--ok)}
svg .bar.bad{fill:var(--bad)}
svg .bar.p90{fill:#5e7fb8}
svg .axis{stroke:#6e6e6e;stroke-width:1}
svg .line{fill:none;stroke:var(--accent);stroke-width:2}
svg .line.won{stroke:var(--ok)}
svg text{fill:var(--fg);font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.9rem;margin:.25rem 0}
.key{display:inline-block;width:.9rem;height:.9rem;border-radius:2px;vertical-align:middle;margin-right:.3rem;background:var(--accent)}
.key.won{background:var(--ok)}
.key.bad{background:var(--bad)}
.key.p90{background:#5e7fb8}
.lang{max-width:60rem;margin:0 auto;padding:1rem;border-top:1px solid var(--line)}
.lang form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.lang button[aria-pressed=true]{background:var(--accent);color:#fff}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
`;

const JS = `(function () {
  'use strict';
  var lang = document.documentElement.lang || 'en';
  var locale = { en: 'en', ko: 'ko-KR', th: 'th-TH' }[lang] || 'en';
  var formats = {};
  function unit(value, name) {
    var format = formats[name] || (formats[name] = new Intl.NumberFormat(locale, { style: 'unit', unit: name, unitDisplay: 'short' }));
    return format.format(value);
  }
  // The same rule as the server's formatDuration.
  function duration(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return unit(seconds, 'second');
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return unit(minutes, 'minute');
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 ? unit(hours, 'hour') + ' ' + unit(minutes % 60, 'minute') : unit(hours, 'hour');
    var days = Math.floor(hours / 24);
    return hours % 24 ? unit(days, 'day') + ' ' + unit(hours % 24, 'hour') : unit(days, 'day');
  }
  // The live SLA clock: every element with data-since shows the time elapsed since then.
  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll('[data-since]');
    for (var i = 0; i < clocks.length; i++) {
      var since = Date.parse(clocks[i].getAttribute('data-since'));
      if (!isNaN(since)) clocks[i].textContent = duration(now - since);
    }
  }
  setInterval(tick, 1000);
  // Forms marked data-inline post in the background and swap in the page's new <main>; without this
  // script they post and follow the 303 like any form.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-inline')) return;
    if (typeof fetch !== 'function' || typeof DOMParser !== 'function') return;
    event.preventDefault();
    var submitter = event.submitter || null;
    var body = new URLSearchParams(new FormData(form, submitter));
    var buttons = form.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    form.setAttribute('aria-busy', 'true');
    fetch(form.action, { method: 'POST', body: body, credentials: 'same-origin', headers: { accept: 'text/html' } }).then(
      function (response) {
        return response
          .text()
          .then(function (text) {
            var doc = new DOMParser().parseFromString(text, 'text/html');
            var next = doc.querySelector('main');
            var current = document.querySelector('main');
            var samePage = next && current && next.getAttribute('data-page') === current.getAttribute('data-page');
            if (!next || !current || (response.redirected && !samePage)) {
              location.assign(response.url);
              return;
            }
            current.replaceWith(document.adoptNode(next));
            document.title = doc.title;
            if (response.redirected) history.replaceState(null, '', response.url);
            var focus = document.querySelector('main [data-focus]') || document.querySelector('main h1');
            if (focus) focus.focus();
            tick();
          })
          .catch(function () {
            location.assign(response.url);
          });
      },
      function () {
        // Not sent at all (offline, blocked): post it the ordinary way.
        form.removeAttribute('data-inline');
        form.removeAttribute('aria-busy');
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
        form.requestSubmit(submitter);
      },
    );
  });
})();
`;

function versioned(name: string, extension: string, body: string) {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
  return { file: `${name}.${hash}.${extension}`, path: `/console/assets/${name}.${hash}.${extension}`, body };
}

export const STYLESHEET = versioned('console', 'css', CSS);
export const SCRIPT = versioned('console', 'js', JS);

/** The assets by file name, with their content types. */
export const ASSETS: ReadonlyMap<string, { readonly body: string; readonly type: string }> = new Map([
  [STYLESHEET.file, { body: STYLESHEET.body, type: 'text/css; charset=utf-8' }],
  [SCRIPT.file, { body: SCRIPT.body, type: 'text/javascript; charset=utf-8' }],
]);
