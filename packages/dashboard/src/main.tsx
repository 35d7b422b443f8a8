import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { session, signOut } from "./api";
import { AnalyticsPage } from "./pages/analytics";
import { EventPage } from "./pages/event";
import { EventFormPage } from "./pages/event-form";
import { EventsPage } from "./pages/events";
import { SignInPage } from "./pages/sign-in";
import { href, type Route, useRoute } from "./router";
import "./styles.css";

function App() {
  const [signedIn, setSignedIn] = useState(() => Boolean(session.token));
  const route = useRoute();
  useEffect(() => {
    const onSignedOut = () => setSignedIn(false);
    window.addEventListener("evently:signed-out", onSignedOut);
    return () => window.removeEventListener("evently:signed-out", onSignedOut);
  }, []);
  if (!signedIn) return <SignInPage onSignedIn={() => setSignedIn(true)} />;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Evently admin</span>
        <nav aria-label="Main">
          <a href={href.events} aria-current={isEventsRoute(route) ? "page" : undefined}>
            Events
          </a>
          <a href={href.analytics} aria-current={route.page === "analytics" ? "page" : undefined}>
            Analytics
          </a>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

const isEventsRoute = (route: Route) => route.page !== "analytics";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "analytics":
      return <AnalyticsPage />;
    case "new-event":
      return <EventFormPage />;
    case "edit-event":
      return <EventFormPage id={route.id} />;
    case "event":
      return <EventPage id={route.id} />;
    default:
      return <EventsPage />;
  }
}

render(<App />, document.getElementById("app") as HTMLElement);
