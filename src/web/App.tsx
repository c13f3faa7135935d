import { Alert, AppShell, Burger, Button, Center, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Suspense, lazy, useEffect } from 'react';
import { startLive, stopLive, useStreamStatus } from './live.js';
import { navigate, useLocation } from './router.js';
import { can, signOut, useSession } from './session.js';
import { BatchDrawer } from './views/BatchDrawer.js';
import { FleetView } from './views/Fleet.js';
import { SignIn } from './views/SignIn.js';

// The fleet view is the home page and ships in the first bundle; the others load when opened.
const AdminView = lazy(() => import('./views/Admin.js').then((module) => ({ default: module.AdminView })));
const EmulatorView = lazy(() => import('./views/Emulator.js').then((module) => ({ default: module.EmulatorView })));
const OperationsView = lazy(() => import('./views/Operations.js').then((module) => ({ default: module.OperationsView })));
const WallView = lazy(() => import('./views/Wall.js').then((module) => ({ default: module.WallView })));
const WorkstationsView = lazy(() => import('./views/Workstations.js').then((module) => ({ default: module.WorkstationsView })));

const NAV = [
  { path: '/', label: 'Fleet', least: 'viewer' },
  { path: '/wall', label: 'Screen wall', least: 'viewer' },
  { path: '/workstations', label: 'Workstations', least: 'viewer' },
  { path: '/operations', label: 'Operations', least: 'viewer' },
  { path: '/admin', label: 'Admin', least: 'admin' },
] as const;

export function App() {
  const session = useSession();
  const location = useLocation();
  const [opened, { toggle, close }] = useDisclosure();

  useEffect(() => {
    if (session.user) startLive();
    else if (!session.restoring) stopLive();
  }, [session.user, session.restoring]);

  if (session.restoring) {
    return (
      <Center h="100dvh">
        <Loader aria-label="Restoring the session" />
      </Center>
    );
  }
  if (!session.user) return <SignIn />;

  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={1} size="h4">
              ldfleet
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="xs">
              {session.user.username} · {session.role}
            </Text>
            <Button size="xs" variant="default" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {NAV.filter((item) => can(session.role, item.least)).map((item) => (
          <NavLink
            key={item.path}
            href={item.path}
            label={item.label}
            active={item.path === '/' ? location.path === '/' || location.path.startsWith('/emulators') : location.path.startsWith(item.path)}
            onClick={(event) => {
              event.preventDefault();
              navigate(item.path);
              close();
            }}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <StreamBanner />
        <Suspense fallback={<Loader aria-label="Loading the page" />}>
          <Routes path={location.path} />
        </Suspense>
        <BatchDrawer />
      </AppShell.Main>
    </AppShell>
  );
}

function StreamBanner() {
  const status = useStreamStatus();
  if (status === 'open' || status === 'connecting') return null;
  return (
    <Alert color={status === 'closed' ? 'red' : 'yellow'} mb="sm" role="status" title={status === 'closed' ? 'Live updates stopped' : 'Reconnecting…'}>
      {status === 'closed' ? 'The event stream was refused; sign in again.' : 'The live event stream dropped; the data shown may be stale until it is back.'}
    </Alert>
  );
}

function Routes({ path }: { path: string }) {
  const session = useSession();
  if (path === '/' || path === '/fleet') return <FleetView />;
  const emulator = /^\/emulators\/([^/]+)$/.exec(path);
  if (emulator) return <EmulatorView id={decodeURIComponent(emulator[1]!)} />;
  if (path === '/wall') return <WallView />;
  if (path === '/workstations') return <WorkstationsView />;
  if (path === '/operations') return <OperationsView />;
  if (path === '/admin' && can(session.role, 'admin')) return <AdminView />;
  return (
    <Alert color="gray" title="Not found">
      No page at {path}.{' '}
      <Button variant="subtle" size="compact-sm" onClick={() => navigate('/')}>
        Go to the fleet
      </Button>
    </Alert>
  );
}
