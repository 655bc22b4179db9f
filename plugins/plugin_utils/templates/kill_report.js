// Sorting and filtering of the report's tables (auditfleet.auditd.kill_report_html).
// No network, no storage, no eval: the page's Content-Security-Policy allows this script by
// its hash and nothing else. Written for 10,000+ rows: keys are computed once per sort, rows
// are moved while their body is out of the document, the filter text of a row is computed once.
(function () {
  "use strict";

  function numberIn(text) {
    var match = /-?\d+(?:\.\d+)?/.exec(text);
    return match ? parseFloat(match[0]) : -Infinity;
  }

  function setup(box) {
    var table = box.querySelector("table");
    if (!table || !table.tBodies.length || !table.tHead) {
      return;
    }
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var input = box.querySelector("input.filter");
    var count = box.querySelector(".count");
    var order = { column: -1, direction: 1 };
    var haystack = null;

    function sortBy(column) {
      var numeric = heads[column].classList.contains("n");
      var direction = order.column === column ? -order.direction : (numeric ? -1 : 1);
      order = { column: column, direction: direction };
      var keyed = rows.map(function (row, index) {
        var cell = row.cells[column];
        var text = cell ? cell.textContent : "";
        return { row: row, key: numeric ? numberIn(text) : text.toLowerCase(), index: index };
      });
      keyed.sort(function (a, b) {
        if (a.key < b.key) { return -direction; }
        if (a.key > b.key) { return direction; }
        return a.index - b.index;
      });
      rows = keyed.map(function (item) { return item.row; });
      // Moved while the body is out of the document: each move in a live table of 10,000
      // rows costs the browser work on the whole table; out of it, one layout at the end.
      var fresh = body.cloneNode(false);
      table.removeChild(body);
      rows.forEach(function (row) { fresh.appendChild(row); });
      table.appendChild(fresh);
      body = fresh;
      heads.forEach(function (th, index) {
        if (index === column) {
          th.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
        } else {
          th.removeAttribute("aria-sort");
        }
      });
    }

    heads.forEach(function (th, column) {
      var button = th.querySelector("button");
      if (button) {
        button.addEventListener("click", function () { sortBy(column); });
      }
    });

    function showCount(shown) {
      if (count) {
        count.textContent = shown === rows.length ? rows.length + " rows" : shown + " of " + rows.length + " rows";
      }
    }

    function applyFilter() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(function (term) { return term; });
      if (haystack === null) {
        haystack = new Map();
        rows.forEach(function (row) { haystack.set(row, row.textContent.toLowerCase()); });
      }
      var shown = 0;
      rows.forEach(function (row) {
        var text = haystack.get(row);
        var match = terms.every(function (term) { return text.indexOf(term) !== -1; });
        if (row.hidden === match) {
          row.hidden = !match;
        }
        if (match) { shown += 1; }
      });
      showCount(shown);
    }

    if (input) {
      var timer = null;
      input.hidden = false;
      input.addEventListener("input", function () {
        if (timer !== null) { clearTimeout(timer); }
        timer = setTimeout(applyFilter, rows.length > 2000 ? 150 : 0);
      });
    }
    if (count) {
      count.hidden = false;
      showCount(rows.length);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("div.tablebox"), setup);
  document.documentElement.setAttribute("data-ready", "1");
}());
