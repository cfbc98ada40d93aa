namespace Exir.Reporting.CaseReport;

/// <summary>
/// The page's only style. Tables are table-layout:fixed with a width per column class: time and host columns are
/// fixed, text columns share the rest and never fall below their min-width, long evidence wraps anywhere inside its
/// column. Print: each section on a new page, table headers repeat, rows are not cut, and every state is said in
/// words and borders as well as colour, so a black-and-white printout reads the same.
/// </summary>
internal static class CaseReportCss
{
    /// <summary>The narrowest a text column may be (px); tests measure the rendered cells against it.</summary>
    public const int MinTextColumnPx = 60;

    public const string Css = """
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px;color:#1b1f24;background:#fff}
        header h1{margin:0 0 4px;font-size:26px}.kicker{margin:0;color:#555;text-transform:uppercase;letter-spacing:.05em;font-size:12px}.meta{color:#333;margin:4px 0}
        nav ol{display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;margin:8px 0 0;list-style:none;font-size:13px}nav a{color:#0b4f8a}
        section{margin:28px 0 0;border-top:2px solid #1b1f24;padding-top:6px}
        h2{font-size:21px;margin:4px 0 10px}h3{font-size:17px;margin:18px 0 6px}h4{font-size:15px;margin:12px 0 4px}.count{font-weight:400;color:#555}
        table{border-collapse:collapse;width:100%;margin:6px 0 12px;table-layout:fixed}
        th,td{border:1px solid #9aa4ae;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:break-word;word-break:normal;min-width:60px}
        th,td.verdict-cell,td.c-num{overflow-wrap:normal}th{background:#eef1f4;font-weight:600}
        col.c-time,th.c-time{width:170px}col.c-host,th.c-host{width:130px}col.c-num,th.c-num{width:115px}col.c-logons{width:150px}col.c-ip,th.c-ip{width:135px}
        col.c-id,th.c-id{width:140px}col.c-verdict{width:200px}col.c-action{width:170px}col.c-state{width:105px}col.c-need{width:110px}
        col.c-deadline{width:200px}col.c-countdown{width:190px}col.c-tags{width:130px}col.c-who{width:170px}col.c-where{width:230px}
        col.c-family{width:150px}col.c-build{width:125px}col.c-cves{width:160px}col.c-source{width:190px}col.c-kind{width:110px}
        col.c-path{width:30%}col.c-hash{width:240px}col.c-account{width:170px}col.c-hosts{width:130px}col.c-flags{width:150px}
        col.c-verb{width:100px}col.c-step{width:200px}col.c-note{width:180px}
        td.c-num{text-align:right}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:normal;margin:0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
        code{font:12px ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
        pre.evidence{background:#f6f8fa;border:1px solid #d0d7de;padding:4px;max-height:none}
        dl.details{display:grid;grid-template-columns:minmax(90px,max-content) minmax(0,1fr);gap:1px 8px;margin:4px 0 0;font-size:12px}
        dl.details dt{color:#444}dl.details dd{margin:0;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace}
        dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:6px 0}dl.facts dd{margin:0;overflow-wrap:anywhere}dl.facts dt{font-weight:600}
        .overall{border:3px solid #555;padding:10px 16px;margin:8px 0 12px;border-radius:6px}.overall p{margin:2px 0}.overall-label{font-size:24px;font-weight:800;letter-spacing:.03em}
        .v-bad.overall{border-color:#b71c1c;background:#fde2e1}.v-warn.overall{border-color:#b26a00;background:#fff4d6}.v-ok.overall{border-color:#2e7d32;background:#e6f4e7}
        tr.v-bad td:first-child{border-left:5px solid #b71c1c}tr.v-warn td:first-child{border-left:5px dashed #b26a00}tr.v-ok td:first-child{border-left:5px dotted #2e7d32}
        tr.v-bad .verdict-cell{color:#b71c1c}tr.v-warn .verdict-cell{color:#8a5200}tr.v-ok .verdict-cell{color:#1e5e22}
        .badge{display:inline-block;border:1px solid #555;border-radius:3px;padding:0 5px;font-size:12px;font-weight:600;background:#fff}
        .tag{display:inline-block;border:1px solid #888;border-radius:3px;padding:0 4px;font-size:11px;margin:1px 0}
        ol.actions{padding-left:24px}ol.actions li{margin:6px 0}li.need-required .badge{background:#1b1f24;color:#fff;border-color:#1b1f24}
        .deadline{font-weight:600}.missed,.missed .countdown,li.missed .deadline{color:#b71c1c}tr.missed td:first-child{border-left:5px solid #b71c1c}
        .missed .countdown::before,li.missed .deadline::before{content:"\26A0  "}
        .caveat{color:#4a3b00;background:#fff8e1;border-left:4px solid #b26a00;padding:4px 8px}
        .alert{color:#7f0000;background:#fde2e1;border-left:4px solid #b71c1c;padding:4px 8px;font-weight:600}tr.alert-row td:first-child{border-left:5px solid #b71c1c}
        td.bad{color:#b71c1c;font-weight:600}.explanation{margin:2px 0 6px;color:#333}.rule-meta{margin:2px 0;color:#333}.ref{color:#555}
        .rule{margin:6px 0 16px}.rule h4{border-left:4px solid #999;padding-left:6px}.rule.sev-critical h4{border-left:6px solid #b71c1c}.rule.sev-high h4{border-left:5px solid #d84315}
        .incident{border:1px solid #9aa4ae;border-left:5px solid #777;padding:6px 12px;margin:10px 0}.incident.sev-critical{border-left:6px solid #b71c1c}.incident.sev-high{border-left:5px solid #d84315}
        .incident h3{margin:2px 0}pre.story{background:#f6f8fa;padding:6px;border:1px solid #d0d7de}
        figure.plot{margin:8px 0}figure.plot svg{display:block;border:1px solid #9aa4ae;background:#fff}
        svg text{font:12px system-ui,sans-serif;fill:#1b1f24}svg .lane-label{text-anchor:end;dominant-baseline:middle;font-weight:600}
        svg .lane-bg{fill:#f3f5f7;stroke:#d0d7de}svg .axis line{stroke:#1b1f24}svg .tick-label{text-anchor:middle}
        svg .window-edge{stroke:#1b1f24;stroke-dasharray:4 3}svg .edge-label.end{text-anchor:end}svg .axis-title{font-weight:600}
        svg .finding-mark{fill:#b71c1c;stroke:#000;stroke-width:.5}
        ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;padding:0;margin:6px 0}.swatch{display:inline-block;width:14px;height:10px;margin-right:6px;border:1px solid #000;vertical-align:middle}
        .finding-swatch{background:#b71c1c}
        footer{margin:30px 0 0;color:#555;font-size:12px;border-top:1px solid #9aa4ae;padding-top:6px}
        @media print{
          @page{size:A4 landscape;margin:12mm}
          body{max-width:none;padding:0;font-size:11pt;color:#000}
          nav{display:none}
          section{break-before:page;border-top:none}
          h2,h3,h4{break-after:avoid}
          table{page-break-inside:auto}tr{break-inside:avoid}thead{display:table-header-group}
          th{background:#fff;border-bottom:2px solid #000}th,td{border-color:#000}
          pre.evidence,pre.story,.caveat,.alert,.overall{background:#fff}
          .incident,.rule,figure.plot{break-inside:avoid-page}
          a{color:#000;text-decoration:none}
          *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        }
        """;
}
