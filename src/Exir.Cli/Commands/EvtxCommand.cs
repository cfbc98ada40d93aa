using System.Buffers;
using System.CommandLine;
using Exir.Core.Evidence;
using Exir.Evtx;
using Exir.Pipeline;

namespace Exir.Cli.Commands;

/// <summary>exir evtx FILE... --format xml|jsonl: dumps every record (like evtxexport), a summary per file on stderr.</summary>
public static class EvtxCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "One or more .evtx files", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format", "-f") { Description = "What to print on stdout: xml (Event Viewer layout), jsonl (one flat JSON object per record)", DefaultValueFactory = _ => "xml" };
        format.AcceptOnlyFromAmong("xml", "jsonl");
        var noProgress = CommonOptions.NoProgress();
        var cmd = new Command("evtx", VerbHelp.Of(
            "Dump the records of Windows event log files as XML or JSON lines; damaged files are read as far as possible and the damage is reported on stderr.",
            "0 every file read cleanly, 1 damage found (damaged or bad-CRC chunks, unreadable records), 2 no file readable as EVTX",
            "exir evtx Security.evtx --format jsonl > security.jsonl"))
        {
            files, format, noProgress,
        };
        cmd.SetAction(parse => Run(parse.GetValue(files) ?? [], parse.GetValue(format) ?? "xml", Console.OpenStandardOutput(), Console.Error, parse.GetValue(noProgress)));
        return cmd;
    }

    public static int Run(IReadOnlyList<string> files, string format, Stream stdout, TextWriter stderr, bool noProgress = true)
    {
        bool json = format == "jsonl";
        bool anyReadable = false, damage = false;
        // Only regular files are read: a FIFO would block the dump, a device would never end.
        foreach (var file in files)
        {
            var kind = NativeFile.KindOf(file);
            if (kind is EntryKind.Regular or EntryKind.Missing) continue;
            stderr.WriteLine($"exir: {Exir.Core.TextSafety.ForTerminal(file)} is a {NativeFile.Describe(kind)}, not a regular file: not read");
            return ExitCodes.Error;
        }
        var progress = new PipelineProgress();
        progress.SetTotals(files.Count, files.Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0));
        using var display = ProgressDisplay.Start(progress, "evtx", noProgress);
        // Records go out as the UTF-8 the chunk workers rendered: one copy here, no string and no encoding per record.
        var output = new ArrayBufferWriter<byte>(1 << 17);
        void Drain(bool endOfFile)
        {
            if (!endOfFile && output.WrittenCount < 1 << 16) return;
            stdout.Write(output.WrittenSpan);
            output.ResetWrittenCount();
            if (endOfFile) stdout.Flush();
        }
        // One read over all files: the chunk window runs across them, so many small files use every core.
        foreach (var (file, record) in EvtxReader.ReadFiles(files, json ? EvtxRender.Json : EvtxRender.Xml))
        {
            if (record is not null)
            {
                if (json) record.WriteJson(output);
                else record.WriteXml(output);
                output.Write("\n"u8);
                Drain(endOfFile: false);
                continue;
            }
            progress.Done(File.Exists(file.Path) ? new FileInfo(file.Path).Length : 0);
            Drain(endOfFile: true);
            if (file.Error is not null)
            {
                stderr.WriteLine($"exir: {Exir.Core.TextSafety.ForTerminal(file.Path)}: {Exir.Core.TextSafety.ForTerminal(file.Error.Message)}");
                continue;
            }
            var stats = file.Stats;
            bool readable = stats.Records > 0 || stats.HeaderValid || stats.Chunks > stats.DamagedChunks + stats.ZeroChunks;
            anyReadable |= readable;
            damage |= stats.DamagedChunks + stats.BadCrcChunks + stats.BadRecords > 0 || stats.Problems.Count > 0;
            stderr.WriteLine($"{Exir.Core.TextSafety.ForTerminal(file.Path)}: {stats.Records} records, {stats.Chunks} chunks ({stats.DamagedChunks} damaged, " +
                             $"{stats.ZeroChunks} zero, {stats.BadCrcChunks} bad CRC), {stats.RecoveredOrFlaggedRecords} flagged records, " +
                             $"{stats.BadRecords} unreadable records" + (readable ? "" : " - not an EVTX file"));
            foreach (var p in stats.Problems) stderr.WriteLine($"  {Exir.Core.TextSafety.ForTerminal(p.ToString())}");
        }
        if (!anyReadable) return ExitCodes.Error;
        return damage ? ExitCodes.Findings : ExitCodes.Clean;
    }
}
