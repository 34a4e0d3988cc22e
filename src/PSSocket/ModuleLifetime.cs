using System.Management.Automation.Runspaces;

namespace PSSocket
{
    /// <summary>Closes what the module opened when it is removed, and servers when PowerShell exits.</summary>
    public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private const string Exiting = "PowerShell.Exiting";

        // Which runspace started each server: its PowerShell.Exiting aborts only those.
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SocketServerSession, object> s_owners = new();

        /// <summary>Notes the runspace that started a server (the caller's), so its exit aborts it.</summary>
        internal static void Own(SocketServerSession server)
        {
            if (Runspace.DefaultRunspace is { } runspace)
            {
                s_owners.Add(server, runspace.InstanceId);
            }
        }

        /// <inheritdoc />
        public void OnImport()
        {
            // PowerShell closes its runspaces on exit, and a server whose script block waits inside
            // .NET would hold that close (and the exit) forever: the runspace that started a
            // server aborts it when it exits (PowerShell.Exiting is raised as a runspace closes).
            var events = Runspace.DefaultRunspace?.Events;
            if (events is not null && !events.Subscribers.Any(IsOurs))
            {
                events.SubscribeEvent(null, null, Exiting, null, OnExiting, true, false);
            }
        }

        /// <inheritdoc />
        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            var events = Runspace.DefaultRunspace?.Events;
            foreach (var subscriber in events?.Subscribers.Where(IsOurs).ToArray() ?? System.Array.Empty<PSEventSubscriber>())
            {
                events!.UnsubscribeEvent(subscriber);
            }

            SessionManager.CloseAll("The PSSocket module was removed");
        }

        private static bool IsOurs(PSEventSubscriber subscriber) =>
            subscriber.SourceIdentifier == Exiting && subscriber.HandlerDelegate == OnExiting;

        private static void OnExiting(object? sender, PSEventArgs e)
        {
            foreach (var session in SessionManager.GetAll())
            {
                if (session is SocketServerSession server && s_owners.TryGetValue(server, out var owner) && owner is System.Guid id && id == e.RunspaceId)
                {
                    server.Abort("PowerShell is exiting");
                }
            }
        }
    }
}
