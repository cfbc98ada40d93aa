namespace Exir.Detection.Files.Checks;

/// <summary>One check of the file hunt: per file while the root is walked, and once after the walk.</summary>
public interface IFileCheck
{
    void Inspect(FileUnderTest file, FileHuntReport report) { }
    void CompleteRoot(FileHuntReport report) { }
}
