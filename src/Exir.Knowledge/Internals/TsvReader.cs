using System.Text;

namespace Exir.Knowledge.Internals;

/// <summary>
/// Reads the knowledge tables: tab-separated, first non-comment line is the header, '#' lines are
/// comments. A field that starts with a double quote may hold tabs and doubled quotes (spreadsheet
/// exports write that). Rows with the wrong number of fields are reported, not guessed at.
/// </summary>
internal sealed class TsvTable
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Header { get; init; }
    public required IReadOnlyList<TsvRow> Rows { get; init; }
    public required IReadOnlyList<string> Comments { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }

    public static TsvTable Read(string name, TextReader reader)
    {
        List<string>? header = null;
        var rows = new List<TsvRow>();
        var comments = new List<string>();
        var problems = new List<string>();
        string? line;
        int lineNo = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0 || line.Trim().Length == 0) continue;
            if (line[0] == '#') { comments.Add(line[1..].Trim()); continue; }
            var fields = Split(line);
            if (header is null)
            {
                header = fields.Select(f => f.Trim().ToLowerInvariant()).ToList();
                continue;
            }
            if (fields.Count != header.Count)
            {
                problems.Add($"{name} line {lineNo}: {fields.Count} fields, header has {header.Count}; row skipped");
                continue;
            }
            rows.Add(new TsvRow(header, fields, lineNo));
        }
        if (header is null) problems.Add($"{name}: no header line");
        return new TsvTable { Name = name, Header = header ?? [], Rows = rows, Comments = comments, Problems = problems };
    }

    public bool HasColumns(params string[] names) => names.All(n => Header.Contains(n));

    internal static List<string> Split(string line)
    {
        var fields = new List<string>();
        int i = 0;
        while (true)
        {
            if (i < line.Length && line[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < line.Length)
                {
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    sb.Append(line[i++]);
                }
                // Anything between the closing quote and the tab is kept rather than lost.
                int tabAfter = line.IndexOf('\t', i);
                sb.Append(tabAfter < 0 ? line[i..] : line[i..tabAfter]);
                fields.Add(sb.ToString());
                if (tabAfter < 0) break;
                i = tabAfter + 1;
            }
            else
            {
                int tab = line.IndexOf('\t', i);
                if (tab < 0) { fields.Add(line[i..]); break; }
                fields.Add(line[i..tab]);
                i = tab + 1;
            }
        }
        return fields;
    }
}

internal sealed class TsvRow(IReadOnlyList<string> header, IReadOnlyList<string> fields, int lineNumber)
{
    public int LineNumber => lineNumber;

    public string this[string column]
    {
        get
        {
            for (int i = 0; i < header.Count; i++)
                if (header[i] == column) return fields[i].Trim();
            return "";
        }
    }

    public string? OrNull(string column) => this[column] is { Length: > 0 } v ? v : null;
}
