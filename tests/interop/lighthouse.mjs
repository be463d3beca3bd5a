// Runs Lighthouse 12 (npm, package.json) in Debian's Chromium against the
// pages given as arguments and prints one JSON object: per page the
// performance and accessibility scores and the audits that did not pass.
//
//   node lighthouse.mjs '[{"url": URL, "cookies": [{"name": N, "value": V}], "from": URL}, …]'
//
// A page's cookies (the session of a signed-in official) are put in the
// browser before it is measured, through puppeteer as Lighthouse's guide
// to authenticated pages does (Chromium ignores a Cookie header given as
// an extra header), so signed-in pages are measured as an official sees
// them. The mobile preset (Lighthouse's
// default: Moto G Power viewport, slow 4G simulated) is kept; the CPU
// slowdown is calibrated first, as Lighthouse's throttling guide asks:
// its default 4× assumes a fast desktop host, and on a 2-core CI machine
// (benchmarkIndex often below 500) it would emulate a phone several times
// slower than the reference one. DevTools' calibration gives that
// reference phone a benchmark of 264; the slowdown is benchmarkIndex/264,
// never below 1 and never above Lighthouse's 4.
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import puppeteer from 'puppeteer-core';

const pages = JSON.parse(process.argv[2]);
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--ignore-certificate-errors', '--disable-gpu'],
});
const browser = await puppeteer.connect({browserURL: `http://127.0.0.1:${chrome.port}`});
const referencePhoneBenchmark = 264;
const out = {pages: {}};
try {
  const base = {
    port: chrome.port,
    output: 'json',
    logLevel: 'error',
    onlyCategories: ['performance', 'accessibility'],
  };
  // Calibration: one run to read the host's benchmark index.
  const probe = await lighthouse(pages[0].url, {...base, onlyCategories: ['performance']});
  const bench = probe.lhr.environment.benchmarkIndex;
  const slowdown = Math.min(4, Math.max(1, bench / referencePhoneBenchmark));
  out.benchmarkIndex = bench;
  out.cpuSlowdown = Math.round(slowdown * 100) / 100;
  for (const {url, cookies, from} of pages) {
    if (cookies && cookies.length) {
      await browser.setCookie(...cookies.map(c => ({...c, domain: new URL(url).hostname, path: '/', secure: true, httpOnly: true})));
    }
    const flags = {...base, throttling: {cpuSlowdownMultiplier: slowdown}};
    let page;
    if (from) {
      // A page an official reaches from another page of the site is
      // measured that way, as Lighthouse's user flows do: the tab first
      // shows `from`, then Lighthouse clears the cache and navigates to
      // the page without passing through about:blank.
      page = await browser.newPage();
      await page.goto(from, {waitUntil: 'load'});
      flags.skipAboutBlank = true;
    }
    const lhr = (await lighthouse(url, flags, undefined, page)).lhr;
    if (page) await page.close();
    const failing = [];
    for (const a of Object.values(lhr.audits)) {
      if (a.score !== null && a.score < 1 && (a.scoreDisplayMode === 'binary' || a.scoreDisplayMode === 'numeric')) {
        failing.push({id: a.id, score: a.score, value: a.displayValue || ''});
      }
    }
    const metric = id => lhr.audits[id].score;
    out.pages[url] = {
      finalUrl: lhr.finalDisplayedUrl,
      performance: lhr.categories.performance.score,
      accessibility: lhr.categories.accessibility.score,
      bytes: lhr.audits['total-byte-weight'].numericValue,
      metrics: {fcp: metric('first-contentful-paint'), lcp: metric('largest-contentful-paint'),
        si: metric('speed-index'), cls: metric('cumulative-layout-shift'), tbt: metric('total-blocking-time')},
      benchmarkIndex: lhr.environment.benchmarkIndex,
      failing,
      // Where the main thread's time went, to find what blocks it.
      tbtMs: lhr.audits['total-blocking-time'].numericValue,
      // Lighthouse's estimates next to what the trace observed, in ms:
      // a gap names the throttling model, not the page, as the cause.
      timings: (({firstContentfulPaint: fcp, speedIndex: si, largestContentfulPaint: lcp,
        observedFirstContentfulPaint: ofcp, observedSpeedIndex: osi, observedLargestContentfulPaint: olcp,
        observedLastVisualChange: olast}) => ({fcp, si, lcp, ofcp, osi, olcp, olast}))(lhr.audits.metrics?.details?.items?.[0] || {}),
      domSize: lhr.audits['dom-size']?.numericValue,
      longTasks: (lhr.audits['long-tasks']?.details?.items || []).map(i => ({url: i.url, ms: Math.round(i.duration), start: Math.round(i.startTime)})),
      breakdown: (lhr.audits['mainthread-work-breakdown']?.details?.items || []).map(i => ({group: i.groupLabel || i.group, ms: Math.round(i.duration)})),
    };
  }
} finally {
  await browser.disconnect();
  await chrome.kill();
}
console.log(JSON.stringify(out));
