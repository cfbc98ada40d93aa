using System.CommandLine;
using System.Text;
using Exir.Evtx;

namespace Exir.Cli.Commands;

/// <summary>exir evtx FILE... --format xml|jsonl: dumps every record (like evtxexport), a summary on stderr.</summary>
public static class EvtxCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "One or more .evtx files", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format", "-f") { Description = "Output format: xml or jsonl", DefaultValueFactory = _ => "xml" };
        format.AcceptOnlyFromAmong("xml", "jsonl");
        var cmd = new Command("evtx", "Dump the records of Windows event log files as XML or JSON lines; damaged files are read as far as possible")
        {
            files, format,
        };
        cmd.SetAction(parse => Run(parse.GetValue(files) ?? [], parse.GetValue(format) ?? "xml", Console.OpenStandardOutput(), Console.Error));
        return cmd;
    }

    /// <summary>Returns 0 when at least one file was readable as EVTX, 2 otherwise.</summary>
    public static int Run(IReadOnlyList<string> files, string format, Stream stdout, TextWriter stderr)
    {
        bool json = format == "jsonl";
        bool anyReadable = false;
        using var output = new StreamWriter(stdout, new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        foreach (var file in files)
        {
            var stats = new EvtxReadStats();
            try
            {
                // The chunk workers render each record too: rendering is half the work of a dump.
                foreach (var record in EvtxReader.ReadRecords(file, stats, json ? EvtxRender.Json : EvtxRender.Xml))
                {
                    if (json) output.Write(record.ToJson());
                    else output.Write(record.ToXml());
                    output.Write('\n');
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"exir: {file}: {e.Message}");
                continue;
            }
            output.Flush();
            bool readable = stats.Records > 0 || stats.HeaderValid || stats.Chunks > stats.DamagedChunks + stats.ZeroChunks;
            anyReadable |= readable;
            stderr.WriteLine($"{file}: {stats.Records} records, {stats.Chunks} chunks ({stats.DamagedChunks} damaged, " +
                             $"{stats.ZeroChunks} zero, {stats.BadCrcChunks} bad CRC), {stats.RecoveredOrFlaggedRecords} flagged records, " +
                             $"{stats.BadRecords} unreadable records" + (readable ? "" : " - not an EVTX file"));
            foreach (var p in stats.Problems) stderr.WriteLine($"  {p}");
        }
        return anyReadable ? ExitCodes.Clean : ExitCodes.Error;
    }
}
