// Entry point of bin/etcd-ts. A subcommand runs its own module; anything else
// starts a member (member-command.ts). Each is loaded only when asked for, so
// `etcd-ts snapshot status` or `etcd-ts discovery` does not load a member's code.

async function main(argv: string[]): Promise<void> {
  switch (argv[0]) {
    case 'discovery': {
      const { runDiscoveryCommand } = await import('./discovery-service/command.js');
      return runDiscoveryCommand(argv.slice(1), process.env);
    }
    case 'snapshot': {
      const { snapshotCli, processIo } = await import('./snapshot-cli/index.js');
      process.exitCode = await snapshotCli(argv.slice(1), processIo);
      return;
    }
    default: {
      const { runMember } = await import('./member-command.js');
      return runMember(argv);
    }
  }
}

void main(process.argv.slice(2));
