using System.Diagnostics;
using System.Text;
using Exir.Evtx;

// evtx-bench [--format jsonl|xml|none] [--repeat N] PATH...
// Reads every .evtx under PATH(s), renders each record (as `exir evtx` does) into a null stream and
// prints one tab-separated line: files bytes records seconds MB/s peak-working-set-MiB cpu-seconds.
string format = "jsonl";
int repeat = 1;
var inputs = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--format": format = args[++i]; break;
        case "--repeat": repeat = int.Parse(args[++i]); break;
        default: inputs.Add(args[i]); break;
    }
}
var files = inputs.SelectMany<string, string>(p => Directory.Exists(p)
    ? Directory.EnumerateFiles(p, "*.evtx", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
    : [p]).ToList();

long bytes = 0, records = 0;
var output = new StreamWriter(Stream.Null, new UTF8Encoding(false), 1 << 16);
var clock = Stopwatch.StartNew();
for (int r = 0; r < repeat; r++)
{
    foreach (var file in files)
    {
        bytes += new FileInfo(file).Length;
        var render = format switch { "jsonl" => EvtxRender.Json, "xml" => EvtxRender.Xml, _ => EvtxRender.None };
        foreach (var record in EvtxReader.ReadRecords(file, null, render))
        {
            records++;
            if (format == "jsonl") output.Write(record.ToJson());
            else if (format == "xml") output.Write(record.ToXml());
            output.Write('\n');
        }
    }
}
output.Flush();
double seconds = clock.Elapsed.TotalSeconds;
var self = Process.GetCurrentProcess();
Console.WriteLine($"{files.Count * repeat}\t{bytes}\t{records}\t{seconds:F3}\t{bytes / 1e6 / seconds:F1}\t{self.PeakWorkingSet64 >> 20}\t{self.TotalProcessorTime.TotalSeconds:F3}\tgc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} alloc {GC.GetTotalAllocatedBytes() >> 20} MiB");
