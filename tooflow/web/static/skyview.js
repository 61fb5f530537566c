// The event page's sky view: Aladin Lite (vendored, an ES module) draws the
// credible regions (MOCs) and the planned/observed fields from sky.json.
// Without WebGL2 (or if anything fails) the static picture below opens instead.
import A from "/static/vendor/aladin-lite/aladin.js";

const div = document.getElementById("aladin");
const status = document.getElementById("sky-status");

function fallback(why) {
  if (status) status.textContent = `interactive view unavailable (${why}); static picture below`;
  if (div) div.style.display = "none";
  const pic = document.getElementById("static-sky");
  if (pic) pic.open = true;
}

async function main() {
  if (!div) return;
  const response = await fetch(div.dataset.sky, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`sky.json: HTTP ${response.status}`);
  const sky = await response.json();
  await A.init;
  const [ra, dec] = sky.center || [0, 0];
  // No background survey, no survey list, no usage log: those live on CDS's
  // servers, and this page talks to tooflow only (its Content-Security-Policy).
  const aladin = A.aladin(div, {
    survey: new URL("/static/hips/blank", location.origin).href, hipsList: [], log: false,
    samp: false, backgroundColor: "rgb(12, 16, 28)",
    target: `${ra} ${dec}`, fov: sky.fov || 60, projection: "AIT", cooFrame: "equatorial",
    showCooGrid: true, showCooGridControl: true, showReticle: false, showSimbadPointerControl: false,
    showLayersControl: false, showShareControl: false, showFrame: true, showFullscreenControl: true,
    showProjectionControl: false, showZoomControl: true,
  });
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();
  for (const [level, name] of [["90", "--c90"], ["50", "--c50"]]) {
    if (sky.mocs && sky.mocs[level]) {
      aladin.addMOC(A.MOCFromJSON(sky.mocs[level], {
        name: `${level} % credible region`, color: colour(name), opacity: 0.35,
        lineWidth: 2, fill: true, perimeter: true,
      }));
    }
  }
  for (const [layer, name] of [["planned", "--planned"], ["executed", "--executed"]]) {
    const overlay = A.graphicOverlay({ name: layer, color: colour(name), lineWidth: 2 });
    aladin.addOverlay(overlay);
    for (const f of sky[layer] || []) {
      if (f.polygon && f.polygon.length > 2) {
        overlay.add(A.polygon(f.polygon, { name: `${f.telescope} ${f.field ?? ""} ${f.filter}` }));
      } else {
        overlay.add(A.circle(f.ra, f.dec, 0.1));
      }
    }
  }
  const n = (sky.planned || []).length, m = (sky.executed || []).length;
  if (status) status.textContent = `${n} planned pointing(s), ${m} exposure(s)` +
    (sky.error ? ` · ${sky.error}` : "");
  div.dataset.ready = "true";
}

main().catch((err) => fallback(err && err.message ? err.message : String(err)));
