using nietras.SeparatedValues;

namespace Exir.Core;

/// <summary>What a CSV's cells are for.</summary>
public enum CsvCells
{
    /// <summary>Opened by people in a spreadsheet: a cell that would start a formula is neutralised (<see cref="TextSafety.ForCsvCell"/>).</summary>
    SpreadsheetSafe,
    /// <summary>Read by a machine (Timesketch import): values as they are, formulas included; only control characters are escaped (<see cref="TextSafety.ForTextCell"/>).</summary>
    AsIs,
}

/// <summary>
/// The one CSV writer of every output (findings, timelines, patch status, remote checks): RFC 4180 quoting by
/// Sep, a header row, and formula injection neutralised in every cell of a spreadsheet-safe table. Evidence
/// and remote servers' answers are attacker text; no output may turn them into a formula, and no cell carries a
/// raw control character (ESC, BEL, NUL...) to the terminal of whoever looks at the file: line breaks stay (legal
/// inside a quoted cell), the rest is shown as \x1b-style escapes.
/// </summary>
public sealed class CsvTable : IDisposable
{
    private readonly SepWriter _writer;
    private readonly int _columns;
    private readonly CsvCells _cells;

    public CsvTable(TextWriter output, IReadOnlyList<string> columns, CsvCells cells = CsvCells.SpreadsheetSafe)
    {
        _writer = Sep.New(',').Writer(o => o with { Escape = true }).To(output, leaveOpen: true);
        _writer.Header.Add(columns.ToArray());
        _columns = columns.Count;
        _cells = cells;
    }

    /// <summary>One row, its values in column order (missing values are empty cells).</summary>
    public void Row(params IReadOnlyList<string?> values)
    {
        using var row = _writer.NewRow();
        for (int i = 0; i < _columns; i++)
        {
            var v = i < values.Count ? values[i] ?? "" : "";
            row[i].Set(_cells == CsvCells.SpreadsheetSafe ? TextSafety.ForCsvCell(v) : TextSafety.ForTextCell(v));
        }
    }

    public void Dispose() => _writer.Dispose();
}
