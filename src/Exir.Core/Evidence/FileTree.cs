namespace Exir.Core.Evidence;

/// <summary>
/// The regular files under a folder for tools that take a folder of files (exir yara -r, rule folders), in a
/// stable order. Linked folders are not followed (no loops), unreadable folders are reported and skipped.
/// </summary>
public static class FileTree
{
    public static IEnumerable<string> Files(string root, bool recursive, Action<string, string> problem)
    {
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            string[] entries, subdirs;
            try
            {
                entries = Directory.GetFiles(dir);
                subdirs = recursive ? Directory.GetDirectories(dir) : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem(dir, e.Message);
                continue;
            }
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var f in entries) yield return f;
            Array.Sort(subdirs, StringComparer.Ordinal);
            for (int i = subdirs.Length - 1; i >= 0; i--)
            {
                if (new DirectoryInfo(subdirs[i]).LinkTarget is not null) continue;
                pending.Push(subdirs[i]);
            }
        }
    }
}
