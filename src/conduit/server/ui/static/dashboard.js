// Conduit dashboard: the live request rate. Polls /ui/api/activity every 2 s (the
// session cookie goes with it) and draws the last 60 answers as bars; no library.
(function () {
  "use strict";
  var rate = document.getElementById("rate");
  if (!rate) { return; }
  var rate10 = document.getElementById("rate10");
  var spark = document.getElementById("spark");
  var seen = [];
  var NS = "http://www.w3.org/2000/svg";
  function draw() {
    while (spark.firstChild) { spark.removeChild(spark.firstChild); }
    var top = Math.max.apply(null, seen.concat([1]));
    seen.forEach(function (value, i) {
      var rect = document.createElementNS(NS, "rect");
      var h = 38 * value / top;
      rect.setAttribute("x", String(i * 5));
      rect.setAttribute("y", String(40 - h));
      rect.setAttribute("width", "4");
      rect.setAttribute("height", String(h));
      spark.appendChild(rect);
    });
  }
  function poll() {
    fetch(rate.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { rate.textContent = "session ended: log in again"; return null; }
        return r.json();
      })
      .then(function (data) {
        if (!data) { return; }
        rate.textContent = String(data.requests_60s);
        rate10.textContent = String(data.requests_10s);
        seen.push(data.requests_60s);
        if (seen.length > 60) { seen.shift(); }
        draw();
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
}());
