//! Owns guest credential tickets: what `AcquireCredentialsInGuest` hands out, so that later
//! calls authenticate with a `TicketedSessionAuthentication` instead of the password, until
//! `ReleaseCredentialsInGuest` or the guest's next boot.

use std::collections::VecDeque;

use super::Fault;

/// The most tickets one guest user holds at once; acquiring another is refused until one is
/// released, so that no caller can end another user's tickets.
pub const TICKETS_MAX: usize = 64;

/// The tickets a guest has issued, oldest first, each with the guest user it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTickets {
    issued: VecDeque<(String, String)>,
}

impl GuestTickets {
    /// Records `ticket` for `user`, or refuses it when `user` already holds [`TICKETS_MAX`].
    pub fn issue(&mut self, ticket: String, user: &str) -> Result<(), Fault> {
        if self.issued.iter().filter(|(_, u)| u == user).count() >= TICKETS_MAX {
            return Err(Fault::TooManyGuestLogons {
                user: user.to_owned(),
            });
        }
        self.issued.push_back((ticket, user.to_owned()));
        Ok(())
    }

    /// The guest user `ticket` stands for, if it is held.
    pub fn user(&self, ticket: &str) -> Option<&str> {
        self.issued
            .iter()
            .find(|(t, _)| t == ticket)
            .map(|(_, u)| u.as_str())
    }

    /// Ends `ticket`; whether it was held.
    pub fn release(&mut self, ticket: &str) -> bool {
        let before = self.issued.len();
        self.issued.retain(|(t, _)| t != ticket);
        self.issued.len() != before
    }

    /// Ends every ticket (the guest halted or booted again).
    pub fn clear(&mut self) {
        self.issued.clear();
    }

    /// How many tickets are held.
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.issued.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_stands_for_its_user_until_released() {
        let mut t = GuestTickets::default();
        t.issue("a".into(), "root").unwrap();
        assert_eq!(t.user("a"), Some("root"));
        assert!(t.release("a"));
        assert!(!t.release("a"));
        assert_eq!(t.user("a"), None);
        t.issue("b".into(), "root").unwrap();
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn a_user_at_the_bound_is_refused_and_nobody_elses_tickets_end() {
        let mut t = GuestTickets::default();
        t.issue("roots".into(), "root").unwrap();
        for i in 0..TICKETS_MAX {
            t.issue(format!("t{i}"), "alice").unwrap();
        }
        assert_eq!(
            t.issue("one more".into(), "alice"),
            Err(Fault::TooManyGuestLogons {
                user: "alice".into()
            })
        );
        assert_eq!(t.user("roots"), Some("root"), "root's ticket stays");
        assert_eq!(t.user("t0"), Some("alice"), "alice's stay too");
        t.issue("root again".into(), "root").unwrap();
        assert!(t.release("t0"));
        t.issue("after a release".into(), "alice").unwrap();
    }
}
