using System.Reflection;

namespace Exir.Core;

/// <summary>
/// Finds the data files (rules/, knowledge/) that carry the product's knowledge. Order: an explicit
/// folder from the command line, a folder of that name beside the exir binary, the repository's
/// folder when run from a source checkout, then the copy embedded at build time. Users update data
/// without a rebuild by dropping files into one of the first two.
/// </summary>
public sealed class DataFiles
{
    private readonly Assembly _embeddedIn;
    private readonly string _kind;

    /// <param name="kind">"rules" or "knowledge": the folder name and the resource prefix.</param>
    public DataFiles(string kind, Assembly embeddedIn, string? overrideDirectory = null)
    {
        _kind = kind;
        _embeddedIn = embeddedIn;
        Directory = overrideDirectory is not null ? Path.GetFullPath(overrideDirectory) : Locate(kind);
        if (overrideDirectory is not null && !System.IO.Directory.Exists(Directory))
            throw new DirectoryNotFoundException($"{kind} folder not found: {overrideDirectory}");
    }

    /// <summary>The folder in use, or null when only the embedded copy is available.</summary>
    public string? Directory { get; }

    /// <summary>Where the data came from, for the report's provenance section.</summary>
    public string Origin => Directory ?? $"embedded in {_embeddedIn.GetName().Name} {_embeddedIn.GetName().Version}";

    /// <summary>Relative paths ('/'-separated) of the data files under a subfolder, folder first else embedded.</summary>
    public IReadOnlyList<string> List(string subfolder = "", string? extension = null)
    {
        var prefix = subfolder.Length == 0 ? "" : subfolder.TrimEnd('/') + "/";
        IEnumerable<string> names;
        if (Directory is not null)
        {
            var dir = Path.Combine(Directory, prefix);
            names = System.IO.Directory.Exists(dir)
                ? System.IO.Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                    .Select(f => Path.GetRelativePath(Directory, f).Replace('\\', '/'))
                : [];
        }
        else
        {
            var res = _kind + "/";
            names = _embeddedIn.GetManifestResourceNames()
                .Where(n => n.StartsWith(res + prefix, StringComparison.Ordinal))
                .Select(n => n[res.Length..]);
        }
        if (extension is not null) names = names.Where(n => n.EndsWith(extension, StringComparison.OrdinalIgnoreCase));
        return names.OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    public bool Exists(string relativePath) => Directory is not null
        ? File.Exists(Path.Combine(Directory, relativePath))
        : _embeddedIn.GetManifestResourceInfo(_kind + "/" + relativePath) is not null;

    public Stream Open(string relativePath)
    {
        if (Directory is not null) return File.OpenRead(Path.Combine(Directory, relativePath));
        return _embeddedIn.GetManifestResourceStream(_kind + "/" + relativePath)
               ?? throw new FileNotFoundException($"{_kind}/{relativePath} is not embedded");
    }

    public string ReadAllText(string relativePath)
    {
        using var reader = new StreamReader(Open(relativePath));
        return reader.ReadToEnd();
    }

    private static string? Locate(string kind)
    {
        var beside = Path.Combine(AppContext.BaseDirectory, kind);
        if (System.IO.Directory.Exists(beside)) return beside;
        // From a source checkout (dotnet run, tests): walk up to the folder holding exir.slnx.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "exir.slnx")) && System.IO.Directory.Exists(Path.Combine(dir.FullName, kind)))
                return Path.Combine(dir.FullName, kind);
        }
        return null;
    }
}
